import { describeCall, ParentCheck, Rule, RuleFinding } from '../parent-check';

/** NWR4: what cannot be decided: a value unknown at synthesis, a condition the evaluator does not evaluate, a policy outside the template. */
export const NWR4: Rule = {
  name: 'undecidable',
  id: 'NWR4',
  severity: 'warning',
  info: 'The checks cannot decide whether the role allows what the parent needs: a value or condition is not known at synthesis.',
  fix: 'Check the finding by hand, or make the value known at synthesis (a stack env, a parameter Default, a child named in the definition).',
  find({ parent, decisions }: ParentCheck): RuleFinding[] {
    const findings: RuleFinding[] = parent.undecidable.map((message) => ({ message }));
    for (const { call, decision } of decisions) {
      if (decision.decision === 'Undecidable') {
        findings.push({
          message: `Whether the role allows ${describeCall(call)} cannot be decided: ${decision.reasons.join('; ')}.`,
        });
      } else if (decision.decision === 'ImplicitlyDenied' && parent.externalPolicies.length > 0) {
        findings.push({
          message: `No policy of the template allows ${describeCall(call)}; the role also has ${parent.externalPolicies.join(', ')}, whose document is not in the template.`,
        });
      }
    }
    return findings;
  },
};
