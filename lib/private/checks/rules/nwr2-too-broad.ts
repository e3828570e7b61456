import { decide, callKey } from '../evaluator';
import { nearMisses } from '../near-misses';
import { describeCall, ParentCheck, Rule, RuleFinding } from '../parent-check';
import { RequiredCall } from '../required-calls';

/**
 * NWR2: a statement that allows a near miss of the parent's calls (`near-misses.ts`) that the role's policies, all of
 * them together, allow: shown with one example.
 */
export const NWR2: Rule = {
  name: 'tooBroad',
  id: 'NWR2',
  severity: 'warning',
  info: 'A statement that allows a call of a nested workflow also allows calls the parent never makes (other state machines, executions, rules, accounts or regions).',
  fix: "Scope the statement to the child (stateMachine:<name>, execution:<name>:* with the colon, the managed rule in the parent's region and account), or use NestedWorkflowRole.",
  find(check: ParentCheck): RuleFinding[] {
    const { parent, roleCalls } = check;
    if (parent.role === undefined) return [];
    const findings: RuleFinding[] = [];
    const reported = new Set<string>();
    // Each near miss once, judged against every policy of the role (a Deny elsewhere may take it away).
    const made = new Set(roleCalls.map(callKey));
    const misses = new Map<string, RequiredCall>();
    for (const miss of parent.calls.flatMap(nearMisses)) {
      const key = callKey(miss);
      if (!made.has(key) && !misses.has(key)) misses.set(key, miss);
    }
    for (const miss of misses.values()) {
      const decision = decide(parent.policies, miss);
      if (decision.decision !== 'Allowed') continue;
      for (const ref of decision.allowing) {
        const key = `${ref.policy.logicalId}#${ref.policy.label}#${ref.index}`;
        if (reported.has(key)) continue;
        reported.add(key);
        findings.push({
          message:
            `Statement ${ref.index}${typeof ref.statement.Sid === 'string' ? ` (${ref.statement.Sid})` : ''} of ${ref.policy.label} ` +
            `(Action ${JSON.stringify(ref.statement.Action ?? ref.statement.NotAction)}, Resource ${JSON.stringify(ref.statement.Resource ?? ref.statement.NotResource)}) ` +
            `also allows ${describeCall(miss)}, which the parent never calls.`,
          resources: [ref.policy.logicalId],
        });
      }
    }
    return findings;
  },
};
