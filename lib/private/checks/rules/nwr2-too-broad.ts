import { statementApplies } from '../evaluator';
import { nearMisses } from '../near-misses';
import { describeCall, ParentCheck, Rule, RuleFinding, sameCall } from '../parent-check';

/** NWR2: a statement that allows a call of the parent and also one of its near misses (`near-misses.ts`), shown with one example. */
export const NWR2: Rule = {
  name: 'tooBroad',
  id: 'NWR2',
  severity: 'warning',
  info: 'A statement that allows a call of a nested workflow also allows calls the parent never makes (other state machines, executions, rules, accounts or regions).',
  fix: "Scope the statement to the child (stateMachine:<name>, execution:<name>:* with the colon, the managed rule in the parent's region and account), or use NestedWorkflowRole.",
  find(check: ParentCheck): RuleFinding[] {
    const { parent, decisions, roleCalls } = check;
    const findings: RuleFinding[] = [];
    const reported = new Set<string>();
    const allowing = decisions
      .filter(({ decision }) => decision.decision === 'Allowed')
      .flatMap(({ decision }) => decision.allowedBy);
    for (const ref of allowing) {
      const key = `${ref.policy.logicalId}#${ref.index}`;
      if (reported.has(key) || ref.statement.Effect !== 'Allow') continue;
      const example = parent.calls
        .flatMap(nearMisses)
        .filter((miss) => !roleCalls.some((c) => sameCall(c, miss)))
        .find((miss) => statementApplies(ref.statement, miss) === 'yes');
      if (!example) continue;
      reported.add(key);
      findings.push({
        message:
          `Statement ${ref.index}${typeof ref.statement.Sid === 'string' ? ` (${ref.statement.Sid})` : ''} of ${ref.policy.label} ` +
          `(Action ${JSON.stringify(ref.statement.Action ?? ref.statement.NotAction)}, Resource ${JSON.stringify(ref.statement.Resource ?? ref.statement.NotResource)}) ` +
          `also allows ${describeCall(example)}, which the parent never calls.`,
        resources: [ref.policy.logicalId],
      });
    }
    return findings;
  },
};
