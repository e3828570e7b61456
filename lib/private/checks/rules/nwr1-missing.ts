import { MANAGED_RULE_NAME } from '../../model/actions';
import { dependencies, describeCall, isDenied, ParentCheck, Rule, RuleFinding } from '../parent-check';

/** NWR1: a call Step Functions makes that no statement allows; a `.sync` parent that does not depend on the policy holding the events grant. */
export const NWR1: Rule = {
  name: 'missing',
  id: 'NWR1',
  severity: 'error',
  info: "The parent's role does not allow a call Step Functions makes for a nested workflow, or the parent does not depend on the policy that allows it.",
  fix: 'Grant exactly what the parent needs: use NestedWorkflowRole, or print the policy with `npx cdk-nested-workflow-role policy <definition>`; a parent with a .sync child must DependsOn the policy holding the events grant.',
  find(check: ParentCheck): RuleFinding[] {
    const { parent, decisions, reader } = check;
    const findings: RuleFinding[] = [];
    const missing = decisions
      .filter(({ decision }) => isDenied(decision, parent))
      .map(
        ({ call, decision, deniedByBoundary }) =>
          `${describeCall(call)}${deniedByBoundary ? ' (not allowed by the permissions boundary)' : decision.decision === 'ExplicitlyDenied' ? ' (explicitly denied)' : ''}`,
      );
    if (missing.length > 0) {
      findings.push({ message: `The role ${parent.role} does not allow: ${missing.join('; ')}.` });
    }
    // The parent must be created after the events grant (a .sync child): Step Functions creates the managed rule then.
    const eventsPolicies = decisions
      .filter(({ call, decision }) => call.kind === 'events' && decision.decision === 'Allowed')
      .map(({ decision }) => new Set(decision.allowedBy.map((s) => s.policy.logicalId)));
    if (eventsPolicies.length > 0) {
      const closure = dependencies(reader, parent.logicalId);
      // The role itself only when the parent depends on it (a literal RoleArn does not).
      const satisfied = eventsPolicies.every((ids) => [...ids].some((id) => closure.has(id)));
      if (!satisfied) {
        const holders = [...new Set(eventsPolicies.flatMap((ids) => [...ids]))];
        findings.push({
          message:
            `The parent starts a .sync child but does not depend on ${holders.join(' or ')}, which holds the events grant on ` +
            `rule/${MANAGED_RULE_NAME}: CloudFormation may create the parent first, and Step Functions then cannot create the rule. Add DependsOn: ${holders[0]}.`,
          resources: holders,
        });
      }
    }
    return findings;
  },
};
