import { Token } from 'aws-cdk-lib';
import {
  ASSUME_ROLE,
  EVENTS_ACTIONS,
  EXECUTION_ACTIONS,
  KMS_DECRYPT,
  QUALIFIER_KEY,
  START_EXECUTION,
  START_SYNC_EXECUTION,
  STATE_MACHINE_CONTEXT_KEY,
} from './actions';
import { executionArnPattern, StateMachineArnParts, unqualifiedStateMachineArn } from './arns';
import { ACCOUNT_LENGTH, KEY_ARN_MAX, PARTITION_MAX, REGION_MAX, ROLE_ARN_MAX } from './bounds';
import { ChildNeeds } from './needs';

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

/**
 * What a statement grants, for the checks' near misses: starting a child, its executions, the managed rule, a
 * credentials role, a key.
 */
export type GrantKind = 'start' | 'executions' | 'events' | 'assumeRole' | 'decrypt';

/** A statement before packing: actions, an optional condition, and every resource it applies to. */
export interface StatementGroup {
  readonly kind: GrantKind;
  readonly actions: string[];
  readonly resources: SizedResource[];
  readonly conditions?: { [operator: string]: { [key: string]: string[] } };
}

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
      groups.push({ kind: 'executions', actions: EXECUTION_ACTIONS, resources: [...this.executions.values()] });
    }
    if (this.managedRule) {
      groups.push({ kind: 'events', actions: EVENTS_ACTIONS, resources: [managedRule] });
    }
    if (this.assumeRoles.size > 0) {
      groups.push({ kind: 'assumeRole', actions: [ASSUME_ROLE], resources: [...this.assumeRoles.values()] });
    }
    for (const { key, stateMachines } of this.decrypts.values()) {
      groups.push({
        kind: 'decrypt',
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
    groups.push({ kind: 'start', actions: [action], resources: unqualified });
  }
  for (const { qualifiers, resources } of byQualifiers.values()) {
    groups.push({
      kind: 'start',
      actions: [action],
      resources,
      conditions: { 'ForAnyValue:StringEquals': { [QUALIFIER_KEY]: qualifiers } },
    });
  }
  return groups;
}
