import { IntegrationPattern } from 'aws-cdk-lib/aws-stepfunctions';
import { executionArnPattern, StateMachineArnParts, unqualifiedStateMachineArn } from './state-machine-arn';

/** The name of the EventBridge rule that Step Functions manages for `.sync` integrations with Step Functions. */
export const MANAGED_RULE_NAME = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

export const START_EXECUTION = 'states:StartExecution';
export const EXECUTION_ACTIONS = ['states:DescribeExecution', 'states:StopExecution'];
export const EVENTS_ACTIONS = ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'];
export const QUALIFIER_KEY = 'states:StateMachineQualifier';

/** What a child needs granted, whatever construct asks. */
export interface ChildNeeds {
  /** `states:StartExecution` on the child. */
  readonly start: boolean;
  /** `states:DescribeExecution` + `states:StopExecution` on the child's executions. */
  readonly executions: boolean;
  /** `events:*` on the managed rule in the parent's region and account. */
  readonly managedRule: boolean;
}

/** A child state machine, split and sized. */
export interface ChildStateMachine {
  /** The ARN the child was given by. */
  readonly arn: string;
  readonly parts: StateMachineArnParts;
  /** True when the ARN is known to be unqualified (a state machine defined in CDK): it is then used as it is. */
  readonly knownUnqualified: boolean;
  /** Upper bound of the deployed length of the child's name. */
  readonly nameLength: number;
}

/** One resource of a statement, with an upper bound of its deployed length. */
export interface SizedResource {
  readonly arn: string;
  readonly length: number;
}

/** A statement before packing: actions, an optional condition, and every resource it applies to. */
export interface StatementGroup {
  readonly actions: string[];
  readonly resources: SizedResource[];
  readonly conditions?: { [operator: string]: { [key: string]: string[] } };
}

// Upper bounds of the deployed length of a token part (IAM counts the deployed document).
const PARTITION_MAX = 'aws-us-gov'.length;
const REGION_MAX = 'ap-southeast-1'.length;
const ACCOUNT_LENGTH = 12;

function partLength(value: string, max: number): number {
  return value.includes('${Token[') ? max : value.length;
}

function arnLength(parts: StateMachineArnParts, resourceType: string, nameLength: number, suffix: string): number {
  return (
    'arn::states:::'.length +
    partLength(parts.partition, PARTITION_MAX) +
    partLength(parts.region, REGION_MAX) +
    partLength(parts.account, ACCOUNT_LENGTH) +
    resourceType.length +
    1 +
    nameLength +
    suffix.length
  );
}

interface StartEntry {
  readonly resource: SizedResource;
  /** Undefined: every qualifier (the unqualified ARN was asked for). */
  qualifiers?: Set<string>;
}

/**
 * Accumulates the grants of many children and renders them as one statement per kind of grant.
 *
 * This is the one place that decides what a child needs (pattern -> statements); every construct calls it.
 */
export class NestedWorkflowGrants {
  private readonly starts = new Map<string, StartEntry>();
  private readonly executions = new Map<string, SizedResource>();
  private managedRule = false;

  /** Adds what `child` needs; adding the same child again grants the union. */
  public add(child: ChildStateMachine, needs: ChildNeeds): void {
    const { parts } = child;
    if (needs.start) {
      const unqualified =
        child.knownUnqualified && parts.qualifier === undefined ? child.arn : unqualifiedStateMachineArn(parts);
      // Opaque ARNs are rebuilt from fresh Fn::Select tokens each time: key them by the ARN itself.
      const key = parts.form === 'opaque' ? child.arn : unqualified;
      const entry = this.starts.get(key) ?? {
        resource: { arn: unqualified, length: arnLength(parts, 'stateMachine', child.nameLength, '') },
        qualifiers: new Set<string>(),
      };
      if (parts.qualifier === undefined) {
        entry.qualifiers = undefined;
      } else {
        entry.qualifiers?.add(parts.qualifier);
      }
      this.starts.set(key, entry);
    }
    if (needs.executions) {
      const key = parts.form === 'opaque' ? child.arn : unqualifiedStateMachineArn(parts);
      if (!this.executions.has(key)) {
        this.executions.set(key, {
          arn: executionArnPattern(parts),
          length: arnLength(parts, 'execution', child.nameLength, ':*'),
        });
      }
    }
    this.managedRule ||= needs.managedRule;
  }

  /**
   * One statement per kind of grant: StartExecution on unqualified children; StartExecution per set of qualifiers
   * (never a cross product that would let one child's alias through for another); Describe/Stop on executions;
   * events on the managed rule.
   */
  public statements(managedRule: SizedResource): StatementGroup[] {
    const groups: StatementGroup[] = [];
    const unqualified: SizedResource[] = [];
    const byQualifiers = new Map<string, { qualifiers: string[]; resources: SizedResource[] }>();
    for (const entry of this.starts.values()) {
      if (entry.qualifiers === undefined) {
        unqualified.push(entry.resource);
        continue;
      }
      const qualifiers = [...entry.qualifiers].sort();
      const key = JSON.stringify(qualifiers);
      const group = byQualifiers.get(key) ?? { qualifiers, resources: [] };
      group.resources.push(entry.resource);
      byQualifiers.set(key, group);
    }
    if (unqualified.length > 0) {
      groups.push({ actions: [START_EXECUTION], resources: unqualified });
    }
    for (const { qualifiers, resources } of byQualifiers.values()) {
      groups.push({
        actions: [START_EXECUTION],
        resources,
        conditions: { 'ForAnyValue:StringEquals': { [QUALIFIER_KEY]: qualifiers } },
      });
    }
    if (this.executions.size > 0) {
      groups.push({ actions: EXECUTION_ACTIONS, resources: [...this.executions.values()] });
    }
    if (this.managedRule) {
      groups.push({ actions: EVENTS_ACTIONS, resources: [managedRule] });
    }
    return groups;
  }
}

/** What each integration pattern needs from the parent's role for a child in its own account. */
export function needsFor(pattern: IntegrationPattern): ChildNeeds {
  const sync = pattern === IntegrationPattern.RUN_JOB;
  return { start: true, executions: sync, managedRule: sync };
}
