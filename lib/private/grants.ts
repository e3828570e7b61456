import { Token } from 'aws-cdk-lib';
import { IntegrationPattern } from 'aws-cdk-lib/aws-stepfunctions';
import {
  executionArnPattern,
  expressExecutionArnPattern,
  StateMachineArnParts,
  unqualifiedStateMachineArn,
} from './state-machine-arn';

/** The name of the EventBridge rule that Step Functions manages for `.sync` integrations with Step Functions. */
export const MANAGED_RULE_NAME = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

export const START_EXECUTION = 'states:StartExecution';
export const DESCRIBE_EXECUTION = 'states:DescribeExecution';
export const EXECUTION_ACTIONS = [DESCRIBE_EXECUTION, 'states:StopExecution'];
export const REDRIVE_EXECUTION = 'states:RedriveExecution';
export const EVENTS_ACTIONS = ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'];
export const START_SYNC_EXECUTION = 'states:StartSyncExecution';
export const ASSUME_ROLE = 'sts:AssumeRole';
export const KMS_DECRYPT = 'kms:Decrypt';
export const QUALIFIER_KEY = 'states:StateMachineQualifier';
export const STATE_MACHINE_CONTEXT_KEY = 'kms:EncryptionContext:aws:states:stateMachineArn';

/** Upper bound of the length of a KMS key ARN. */
const KEY_ARN_MAX = 'arn:aws-us-gov:kms:ap-southeast-1:123456789012:key/'.length + 36;

/** What a child needs granted, whatever construct asks. */
export interface ChildNeeds {
  /** `states:StartExecution` on the child. */
  readonly start: boolean;
  /** `states:StartSyncExecution` on the child (an Express child run synchronously). */
  readonly startSync: boolean;
  /** `states:DescribeExecution` + `states:StopExecution` on the child's executions. */
  readonly executions: boolean;
  /** `states:DescribeExecution` on the child's Express executions (`express:<name>:*`). */
  readonly expressExecutions?: boolean;
  /** `events:*` on the managed rule in the parent's region and account. */
  readonly managedRule: boolean;
  /** `kms:Decrypt` on this key (ARN), for the child's encryption context. */
  readonly decryptKey?: string;
  /** `sts:AssumeRole` on this role (ARN): the child is started through it, nothing else is granted here. */
  readonly assumeRole?: string;
}

/** How a child is started, as far as its grants go. */
export interface ChildPattern {
  readonly integrationPattern: IntegrationPattern;
  /** True for an Express child. */
  readonly express: boolean;
  /**
   * For `RUN_JOB` on an Express child: true when the parent's task is `states:startExecution.sync` (or `.sync:2`),
   * false (the default) for `aws-sdk:sfn:startSyncExecution`.
   */
  readonly startExecutionSync?: boolean;
  /** The child's customer managed key (ARN), if any. */
  readonly encryptionKey?: string;
  /**
   * Who is granted: `parent` (the parent's own role), `parent-via-role` (the parent assumes `credentialsRole`) or
   * `target` (the role the parent assumes, in the child's account: Step Functions polls, no events rule).
   */
  readonly grantee: 'parent' | 'parent-via-role' | 'target';
  readonly credentialsRole?: string;
}

/**
 * What a child needs, by integration pattern (the one place that decides it):
 * - request-response and callback: StartExecution;
 * - run a job, Standard child: StartExecution, Describe/Stop on its executions, the events rule (not for a target
 *   role: cross-account `.sync` only polls), and kms:Decrypt when the child has a customer managed key;
 * - run a job, Express child (`aws-sdk:sfn:startSyncExecution`): StartSyncExecution only (+ kms:Decrypt);
 * - run a job, Express child started with `startExecution.sync` in the parent's account: what a Standard child gets,
 *   and DescribeExecution on its Express executions (`express:<name>:*`), the ARN form its executions have;
 * - started through a credentials role: only sts:AssumeRole on that role.
 */
export function needsFor(child: ChildPattern): ChildNeeds {
  const none = { start: false, startSync: false, executions: false, managedRule: false };
  if (child.grantee === 'parent-via-role') {
    return { ...none, assumeRole: child.credentialsRole };
  }
  const sync = child.integrationPattern === IntegrationPattern.RUN_JOB;
  const decryptKey = sync ? child.encryptionKey : undefined;
  if (sync && child.express && !child.startExecutionSync) {
    return { ...none, startSync: true, decryptKey };
  }
  return {
    ...none,
    start: true,
    executions: sync,
    managedRule: sync && child.grantee === 'parent',
    expressExecutions: sync && child.express,
    decryptKey,
  };
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

interface DecryptEntry {
  readonly key: SizedResource;
  /** Unqualified state machine ARNs whose encryption context may be used, by key. */
  readonly stateMachines: Map<string, string>;
}

/** Upper bound of the length of an IAM role ARN (64-character name, 512-character path). */
const ROLE_ARN_MAX = 'arn:aws-us-gov:iam::123456789012:role'.length + 512 + 64;

/**
 * Accumulates the grants of many children and renders them as one statement per kind of grant.
 *
 * Every construct of this library adds its children here; what a child needs comes from `needsFor`.
 */
export class NestedWorkflowGrants {
  private readonly starts = new Map<string, Map<string, StartEntry>>([
    [START_EXECUTION, new Map()],
    [START_SYNC_EXECUTION, new Map()],
  ]);
  private readonly executions = new Map<string, SizedResource>();
  private readonly expressExecutions = new Map<string, SizedResource>();
  private readonly assumeRoles = new Map<string, SizedResource>();
  private readonly decrypts = new Map<string, DecryptEntry>();
  private managedRule = false;

  /** Adds what `child` needs; adding the same child again grants the union. */
  public add(child: ChildStateMachine, needs: ChildNeeds): void {
    const { parts } = child;
    const unqualified =
      child.knownUnqualified && parts.qualifier === undefined ? child.arn : unqualifiedStateMachineArn(parts);
    // Opaque ARNs are rebuilt from fresh Fn::Select tokens each time: key them by the ARN itself.
    const key = parts.form === 'opaque' ? child.arn : unqualified;
    const addStart = (action: string) => {
      const starts = this.starts.get(action)!;
      const entry = starts.get(key) ?? {
        resource: { arn: unqualified, length: arnLength(parts, 'stateMachine', child.nameLength, '') },
        qualifiers: new Set<string>(),
      };
      if (parts.qualifier === undefined) {
        entry.qualifiers = undefined;
      } else {
        entry.qualifiers?.add(parts.qualifier);
      }
      starts.set(key, entry);
    };
    if (needs.start) addStart(START_EXECUTION);
    if (needs.startSync) addStart(START_SYNC_EXECUTION);
    if (needs.executions && !this.executions.has(key)) {
      this.executions.set(key, {
        arn: executionArnPattern(parts),
        length: arnLength(parts, 'execution', child.nameLength, ':*'),
      });
    }
    if (needs.expressExecutions && !this.expressExecutions.has(key)) {
      this.expressExecutions.set(key, {
        arn: expressExecutionArnPattern(parts),
        length: arnLength(parts, 'express', child.nameLength, ':*'),
      });
    }
    if (needs.assumeRole !== undefined && !this.assumeRoles.has(needs.assumeRole)) {
      const length = Token.isUnresolved(needs.assumeRole) ? ROLE_ARN_MAX : needs.assumeRole.length;
      this.assumeRoles.set(needs.assumeRole, { arn: needs.assumeRole, length });
    }
    if (needs.decryptKey !== undefined) {
      const entry = this.decrypts.get(needs.decryptKey) ?? {
        key: {
          arn: needs.decryptKey,
          length: Token.isUnresolved(needs.decryptKey) ? KEY_ARN_MAX : needs.decryptKey.length,
        },
        stateMachines: new Map<string, string>(),
      };
      entry.stateMachines.set(key, unqualified);
      this.decrypts.set(needs.decryptKey, entry);
    }
    this.managedRule ||= needs.managedRule;
  }

  /**
   * One statement per kind of grant: StartExecution (and StartSyncExecution) on unqualified children, and per set
   * of qualifiers (never a cross product that would let one child's alias through for another); Describe/Stop on
   * executions; events on the managed rule; sts:AssumeRole on credentials roles; kms:Decrypt per key, limited to the
   * encryption context of its own children.
   */
  public statements(managedRule: SizedResource): StatementGroup[] {
    const groups: StatementGroup[] = [];
    for (const [action, starts] of this.starts) {
      groups.push(...startGroups(action, starts));
    }
    if (this.executions.size > 0) {
      groups.push({ actions: EXECUTION_ACTIONS, resources: [...this.executions.values()] });
    }
    if (this.expressExecutions.size > 0) {
      groups.push({ actions: [DESCRIBE_EXECUTION], resources: [...this.expressExecutions.values()] });
    }
    if (this.managedRule) {
      groups.push({ actions: EVENTS_ACTIONS, resources: [managedRule] });
    }
    if (this.assumeRoles.size > 0) {
      groups.push({ actions: [ASSUME_ROLE], resources: [...this.assumeRoles.values()] });
    }
    for (const { key, stateMachines } of this.decrypts.values()) {
      groups.push({
        actions: [KMS_DECRYPT],
        resources: [key],
        conditions: { StringEquals: { [STATE_MACHINE_CONTEXT_KEY]: [...stateMachines.values()] } },
      });
    }
    return groups;
  }
}

function startGroups(action: string, starts: Map<string, StartEntry>): StatementGroup[] {
  const groups: StatementGroup[] = [];
  const unqualified: SizedResource[] = [];
  const byQualifiers = new Map<string, { qualifiers: string[]; resources: SizedResource[] }>();
  for (const entry of starts.values()) {
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
    groups.push({ actions: [action], resources: unqualified });
  }
  for (const { qualifiers, resources } of byQualifiers.values()) {
    groups.push({
      actions: [action],
      resources,
      conditions: { 'ForAnyValue:StringEquals': { [QUALIFIER_KEY]: qualifiers } },
    });
  }
  return groups;
}
