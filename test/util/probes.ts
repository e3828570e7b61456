/**
 * The probe table: every call Step Functions makes for a nested workflow (expected Allowed) and the near misses
 * (expected Denied), for one child. Data, not logic: the simulator tests and the comparison with aws-cdk-lib's
 * task both read it.
 */
import { Probe } from './simulator';

export type Pattern = 'REQUEST_RESPONSE' | 'RUN_JOB' | 'WAIT_FOR_TASK_TOKEN';
export type Expectation = 'Allowed' | 'Denied';

/** Where a child lives and how the parent starts it. */
export interface ChildScenario {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
  /** Alias or version the parent starts (`stateMachine:NAME:QUALIFIER`). */
  readonly qualifier?: string;
  readonly pattern: Pattern;
}

/** The parent's environment (where the managed rule lives). */
export interface ParentEnv {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

export interface ProbeCase extends Probe {
  /** What the probe checks, e.g. "DescribeExecution on the executions of <name>Admin". */
  readonly label: string;
  readonly expect: Expectation;
  /** True for calls Step Functions makes (missing them breaks the workflow); false for near misses. */
  readonly needed: boolean;
}

export const MANAGED_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';
const OTHER_ACCOUNT = '999999999999';
const OTHER_REGION = 'ap-south-2';

const stateMachine = (c: { partition: string; region: string; account: string }, name: string) =>
  `arn:${c.partition}:states:${c.region}:${c.account}:stateMachine:${name}`;
const execution = (c: { partition: string; region: string; account: string }, name: string, id = 'run-1') =>
  `arn:${c.partition}:states:${c.region}:${c.account}:execution:${name}:${id}`;
const rule = (p: ParentEnv, name: string, region = p.region, account = p.account) =>
  `arn:${p.partition}:events:${region}:${account}:rule/${name}`;

/** Every probe for one child of a parent in `parent`. */
export function probesFor(child: ChildScenario, parent: ParentEnv): ProbeCase[] {
  const sync = child.pattern === 'RUN_JOB';
  const qualifierContext = child.qualifier ? { 'states:StateMachineQualifier': child.qualifier } : undefined;
  const start = child.qualifier ? `${child.name}:${child.qualifier}` : child.name;
  // Near misses must differ from the child's own account and region, whatever they are.
  const elsewhere = { ...child, account: child.account === OTHER_ACCOUNT ? '888888888888' : OTHER_ACCOUNT };
  const otherRegion = { ...child, region: child.region === OTHER_REGION ? 'ap-south-1' : OTHER_REGION };
  const probe = (
    label: string,
    action: string,
    resource: string,
    expect: Expectation,
    needed = false,
    context?: Probe['context'],
  ): ProbeCase => ({ label, action, resource, expect, needed, context });
  const syncOnly: Expectation = sync ? 'Allowed' : 'Denied';

  return [
    // What Step Functions calls.
    probe(
      `StartExecution on ${start}`,
      'states:StartExecution',
      stateMachine(child, child.name),
      'Allowed',
      true,
      qualifierContext,
    ),
    probe(
      `DescribeExecution on an execution of ${child.name}`,
      'states:DescribeExecution',
      execution(child, child.name),
      syncOnly,
      sync,
    ),
    probe(
      `StopExecution on an execution of ${child.name}`,
      'states:StopExecution',
      execution(child, child.name),
      syncOnly,
      sync,
    ),
    ...['PutTargets', 'PutRule', 'DescribeRule'].map((action) =>
      probe(`events:${action} on the managed rule`, `events:${action}`, rule(parent, MANAGED_RULE), syncOnly, sync),
    ),

    // Near misses: names that share a prefix, other accounts and regions, other rules.
    probe(
      `StartExecution on ${child.name}2`,
      'states:StartExecution',
      stateMachine(child, `${child.name}2`),
      'Denied',
      false,
      qualifierContext,
    ),
    probe(
      `StartExecution on ${child.name}Admin`,
      'states:StartExecution',
      stateMachine(child, `${child.name}Admin`),
      'Denied',
      false,
      qualifierContext,
    ),
    probe(
      `StartExecution on ${child.name} in another account`,
      'states:StartExecution',
      stateMachine(elsewhere, child.name),
      'Denied',
      false,
      qualifierContext,
    ),
    probe(
      `StartExecution on ${child.name} in another region`,
      'states:StartExecution',
      stateMachine(otherRegion, child.name),
      'Denied',
      false,
      qualifierContext,
    ),
    probe(
      `DescribeExecution on an execution of ${child.name}2`,
      'states:DescribeExecution',
      execution(child, `${child.name}2`),
      'Denied',
    ),
    probe(
      `DescribeExecution on an execution of ${child.name}Admin`,
      'states:DescribeExecution',
      execution(child, `${child.name}Admin`),
      'Denied',
    ),
    probe(
      `StopExecution on an execution of ${child.name}Admin`,
      'states:StopExecution',
      execution(child, `${child.name}Admin`),
      'Denied',
    ),
    probe(
      `DescribeExecution on ${child.name} in another account`,
      'states:DescribeExecution',
      execution(elsewhere, child.name),
      'Denied',
    ),
    probe(
      `DescribeExecution on ${child.name} in another region`,
      'states:DescribeExecution',
      execution(otherRegion, child.name),
      'Denied',
    ),
    probe('events:PutRule on another rule', 'events:PutRule', rule(parent, 'SomeOtherRule'), 'Denied'),
    probe(
      'events:PutTargets on the managed rule in another region',
      'events:PutTargets',
      rule(parent, MANAGED_RULE, parent.region === OTHER_REGION ? 'ap-south-1' : OTHER_REGION),
      'Denied',
    ),
    probe(
      'events:PutTargets on the managed rule in another account',
      'events:PutTargets',
      rule(parent, MANAGED_RULE, parent.region, parent.account === OTHER_ACCOUNT ? '888888888888' : OTHER_ACCOUNT),
      'Denied',
    ),

    // Actions no nested workflow needs.
    probe(
      `DeleteStateMachine on ${child.name}`,
      'states:DeleteStateMachine',
      stateMachine(child, child.name),
      'Denied',
    ),
    probe(
      `StartSyncExecution on ${child.name}`,
      'states:StartSyncExecution',
      stateMachine(child, child.name),
      'Denied',
      false,
      qualifierContext,
    ),
    probe(
      `RedriveExecution on an execution of ${child.name}`,
      'states:RedriveExecution',
      execution(child, child.name),
      'Denied',
    ),
    probe(
      `GetExecutionHistory on an execution of ${child.name}`,
      'states:GetExecutionHistory',
      execution(child, child.name),
      'Denied',
    ),
    probe('events:DeleteRule on the managed rule', 'events:DeleteRule', rule(parent, MANAGED_RULE), 'Denied'),
    probe(
      'iam:PassRole on a role',
      'iam:PassRole',
      `arn:${parent.partition}:iam::${parent.account}:role/AnyRole`,
      'Denied',
    ),

    // Aliases and versions: only the qualifier the parent starts.
    ...(child.qualifier
      ? [
          probe(
            `StartExecution on ${child.name}:OTHER`,
            'states:StartExecution',
            stateMachine(child, child.name),
            'Denied',
            false,
            {
              'states:StateMachineQualifier': 'OTHER',
            },
          ),
          probe(
            `StartExecution on unqualified ${child.name}`,
            'states:StartExecution',
            stateMachine(child, child.name),
            'Denied',
          ),
        ]
      : []),
  ];
}

/** A parent state machine whose Distributed Maps run Map Runs (child workflow executions of the parent itself). */
export interface MapRunScenario {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
  /** The Map Run labels of its Distributed Maps; undefined: a map has no label (every label is granted). */
  readonly labels?: string[];
}

/** Every probe of a parent's Map Runs: the calls Step Functions makes on the parent itself, and near misses. */
export function mapRunProbesFor(parent: MapRunScenario): ProbeCase[] {
  const probe = (label: string, action: string, resource: string, expect: Expectation, needed = false): ProbeCase => ({
    label,
    action,
    resource,
    expect,
    needed,
  });
  const labelled = (name: string, label: string, id = 'item-1') =>
    `arn:${parent.partition}:states:${parent.region}:${parent.account}:execution:${name}/${label}:${id}`;
  const elsewhere = { ...parent, account: parent.account === OTHER_ACCOUNT ? '888888888888' : OTHER_ACCOUNT };
  const labels = parent.labels ?? ['AnyLabel'];
  return [
    // What Step Functions calls for a Map Run and its redrive.
    probe(
      `StartExecution on ${parent.name} itself`,
      'states:StartExecution',
      stateMachine(parent, parent.name),
      'Allowed',
      true,
    ),
    probe(
      `DescribeExecution on an execution of ${parent.name}`,
      'states:DescribeExecution',
      execution(parent, parent.name),
      'Allowed',
      true,
    ),
    probe(
      `StopExecution on an execution of ${parent.name}`,
      'states:StopExecution',
      execution(parent, parent.name),
      'Allowed',
      true,
    ),
    ...labels.map((label) =>
      probe(
        `RedriveExecution on a child workflow execution of Map Run ${parent.name}/${label}`,
        'states:RedriveExecution',
        labelled(parent.name, label),
        'Allowed',
        true,
      ),
    ),

    // Near misses: names that share a prefix, another state machine, other accounts, other labels.
    probe(
      `StartExecution on ${parent.name}Admin`,
      'states:StartExecution',
      stateMachine(parent, `${parent.name}Admin`),
      'Denied',
    ),
    probe(
      `StartExecution on ${parent.name}2`,
      'states:StartExecution',
      stateMachine(parent, `${parent.name}2`),
      'Denied',
    ),
    probe(
      'StartExecution on another state machine',
      'states:StartExecution',
      stateMachine(parent, 'OtherParent'),
      'Denied',
    ),
    probe(
      `StartExecution on ${parent.name} in another account`,
      'states:StartExecution',
      stateMachine(elsewhere, parent.name),
      'Denied',
    ),
    probe(
      `DescribeExecution on an execution of ${parent.name}Admin`,
      'states:DescribeExecution',
      execution(parent, `${parent.name}Admin`),
      'Denied',
    ),
    probe(
      `StopExecution on an execution of ${parent.name}2`,
      'states:StopExecution',
      execution(parent, `${parent.name}2`),
      'Denied',
    ),
    probe(
      'StopExecution on an execution of another state machine',
      'states:StopExecution',
      execution(parent, 'OtherParent'),
      'Denied',
    ),
    ...labels.map((label) =>
      probe(
        `RedriveExecution on Map Run ${label} of another parent`,
        'states:RedriveExecution',
        labelled('OtherParent', label),
        'Denied',
      ),
    ),
    ...labels.map((label) =>
      probe(
        `RedriveExecution on Map Run ${label} of ${parent.name}Admin`,
        'states:RedriveExecution',
        labelled(`${parent.name}Admin`, label),
        'Denied',
      ),
    ),
    ...(parent.labels
      ? [
          probe(
            `RedriveExecution on Map Run OtherLabel of ${parent.name}`,
            'states:RedriveExecution',
            labelled(parent.name, 'OtherLabel'),
            'Denied',
          ),
        ]
      : []),
    probe(
      `RedriveExecution on an execution of ${parent.name} itself`,
      'states:RedriveExecution',
      execution(parent, parent.name),
      'Denied',
    ),
    probe(
      `DeleteStateMachine on ${parent.name}`,
      'states:DeleteStateMachine',
      stateMachine(parent, parent.name),
      'Denied',
    ),
    probe(
      `StartSyncExecution on ${parent.name}`,
      'states:StartSyncExecution',
      stateMachine(parent, parent.name),
      'Denied',
    ),
  ];
}

const expressExecution = (c: { partition: string; region: string; account: string }, name: string) =>
  `arn:${c.partition}:states:${c.region}:${c.account}:express:${name}:run-1:express-1`;

/**
 * The probes of an Express child started with `startExecution.sync` in the parent's account: what a Standard `.sync`
 * child gets, and nothing on its Express executions (DescribeExecution does not support Express executions outside a
 * Map Run: Step Functions never makes that call), nor on other Express state machines.
 */
export function expressSyncProbesFor(child: ChildScenario, parent: ParentEnv): ProbeCase[] {
  const probe = (label: string, resource: string): ProbeCase => ({
    label,
    action: 'states:DescribeExecution',
    resource,
    expect: 'Denied',
    needed: false,
  });
  return [
    ...probesFor({ ...child, pattern: 'RUN_JOB' }, parent),
    probe(`DescribeExecution on an Express execution of ${child.name}`, expressExecution(child, child.name)),
    probe(
      `DescribeExecution on an Express execution of ${child.name}Admin`,
      expressExecution(child, `${child.name}Admin`),
    ),
    probe(`DescribeExecution on an Express execution of ${child.name}2`, expressExecution(child, `${child.name}2`)),
  ];
}
