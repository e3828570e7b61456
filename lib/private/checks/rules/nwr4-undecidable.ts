import { ENVIRONMENT_REASON } from '../evaluator';
import { describeCall, ParentCheck, Rule, RuleFinding } from '../parent-check';

/** NWR4: what cannot be decided: a value unknown at synthesis, a condition the evaluator does not evaluate, a policy outside the template. */
export const NWR4: Rule = {
  name: 'undecidable',
  id: 'NWR4',
  severity: 'warning',
  info: 'The checks cannot decide whether the role allows what the parent needs: a value or condition is not known at synthesis.',
  fix: 'Check the finding by hand, or make the value known at synthesis (a stack env, a parameter Default, a child named in the definition).',
  find({ parent, decisions, reader }: ParentCheck): RuleFinding[] {
    const findings: RuleFinding[] = parent.undecidable.map((message) => ({ message }));
    // One finding per task (a child's calls share their states and their reasons), not one per action.
    const undecided = new Map<string, { calls: string[]; reasons: string[] }>();
    const notAllowed: string[] = [];
    const allowed: string[] = [];
    for (const { call, decision } of decisions) {
      if (decision.decision === 'Undecidable') {
        const reasons = decision.reasons.map((r) =>
          r.startsWith(ENVIRONMENT_REASON) ? `${r}: ${reader.env.unknownFix ?? 'give the stack an env'}` : r,
        );
        const key = JSON.stringify([call.states, reasons]);
        const entry = undecided.get(key) ?? { calls: [], reasons };
        entry.calls.push(describeCall(call));
        undecided.set(key, entry);
      } else if (decision.decision === 'ImplicitlyDenied' && parent.externalPolicies.length > 0) {
        notAllowed.push(describeCall(call));
      } else if (decision.decision === 'Allowed') {
        allowed.push(describeCall(call));
      }
    }
    for (const { calls, reasons } of undecided.values()) {
      findings.push({
        message: `Whether the role allows ${calls.join('; ')} cannot be decided: ${reasons.join('; ')}.`,
      });
    }
    if (notAllowed.length > 0) {
      findings.push({
        message: `No policy of the template allows ${notAllowed.join('; ')}; the role also has ${parent.externalPolicies.join(', ')}, whose document is not in the template.`,
      });
    }
    if (allowed.length > 0 && parent.externalBoundary !== undefined) {
      findings.push({
        message: `The role's policies allow ${allowed.join('; ')}, but ${parent.externalBoundary} is not in the template: whether it allows them cannot be decided.`,
      });
    }
    return findings;
  },
};
