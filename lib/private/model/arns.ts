import { Aws, Fn, Token } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { MANAGED_RULE_NAME } from './actions';
import { NAME_RULE, nameProblem } from './names';
import { displayValue } from './render';

/**
 * The parts of a state machine ARN `arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<qualifier>]`.
 *
 * Every part is a string that may hold tokens. `qualifier` is the alias or version of a qualified ARN; it is
 * undefined for an unqualified ARN and for an ARN that is one opaque token (where it cannot be known).
 */
export interface StateMachineArnParts {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
  readonly qualifier?: string;
  /** How the ARN was split: literal text, text with tokens between its colons, or one opaque token. */
  readonly form: 'literal' | 'tokenized' | 'opaque';
}

/**
 * Reads `<token>:<qualifier>` (a token followed by a literal qualifier), which only the app can tell apart: the parts
 * of an alias or version of a state machine of the app, or undefined for anything else.
 */
export type QualifiedTokenReader<P extends StateMachineArnParts> = (arn: string, what: string) => P | undefined;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;

/** Whether `value` is a region name such as us-east-1. */
export function isRegionName(value: string): boolean {
  return REGION.test(value);
}

/** Whether `value` is a 12-digit account id. */
export function isAccountId(value: string): boolean {
  return ACCOUNT.test(value);
}
const PARTITION = /^aws(-[a-z]+)*$/;
export const EXPECTED = 'arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<alias or version>]';
/** The fix of every "must be a state machine ARN" message. */
export const STATE_MACHINE_ARN_FIX =
  'Pass the ARN of a state machine, or of one of its aliases or versions; activities, executions and other resources cannot be started.';

/**
 * Splits a state machine ARN into its parts, from the ARN itself (never from a stack).
 *
 * - literal ARN: split and validated in full;
 * - ARN with tokens between literal colons (e.g. `StateMachine.fromStateMachineName` in an environment-agnostic
 *   stack): split at the colons, literal parts validated, token parts taken as they are;
 * - one opaque token (a `CfnParameter`, `Fn::ImportValue`, a `Ref` to a state machine): split at deploy time
 *   with `Fn::Split`/`Fn::Select`.
 *
 * @param what how the caller names the value in error messages, e.g. "`child`"
 * @param qualifiedToken reads `<token>:<qualifier>` (the app's aliases and versions); refused without it
 * @throws if a part that can be checked is not what a state machine ARN holds there
 */
export function parseStateMachineArn<P extends StateMachineArnParts = StateMachineArnParts>(
  arn: string,
  what: string,
  qualifiedToken?: QualifiedTokenReader<P>,
): StateMachineArnParts | P {
  const parts = arn.split(':');
  if (Token.isUnresolved(arn) && parts.length < 7) {
    if (parts.length === 1) {
      return opaqueParts(arn);
    }
    const qualified = qualifiedToken?.(arn, what);
    if (qualified) return qualified;
    throw new Error(
      `${what} must be a state machine ARN (${EXPECTED}), got: ${displayValue(arn)}. ` +
        'Pass the ARN of a state machine or of one of its aliases or versions: `${stateMachine.stateMachineArn}:PROD` for a ' +
        'state machine of this app, the whole ARN for a parameter or import.',
    );
  }
  const form = Token.isUnresolved(arn) ? 'tokenized' : 'literal';
  const [prefix, partition, service, region, account, resource, name, qualifier] = parts;
  const problems: string[] = [];
  const check = (value: string | undefined, pattern: RegExp, label: string) => {
    if (value === undefined || (!Token.isUnresolved(value) && !pattern.test(value))) {
      problems.push(label);
    }
  };
  const checkName = (value: string | undefined, label: string) => {
    const problem = value === undefined || Token.isUnresolved(value) ? undefined : nameProblem(value);
    if (value === undefined || problem) problems.push(problem ? `${label}, which ${problem}` : label);
  };
  if (parts.length > 8) problems.push('no more than 8 colon-separated parts');
  if (prefix !== 'arn') problems.push('"arn" prefix');
  check(partition, PARTITION, 'partition');
  if (service !== 'states') problems.push('service "states"');
  check(region, REGION, 'region');
  check(account, ACCOUNT, '12-digit account');
  if (resource !== 'stateMachine') problems.push('resource type "stateMachine"');
  checkName(name, 'name');
  if (qualifier !== undefined) checkName(qualifier, 'alias or version');
  const regionPartition = region && !Token.isUnresolved(region) ? RegionInfo.get(region).partition : undefined;
  if (regionPartition && partition && !Token.isUnresolved(partition) && partition !== regionPartition) {
    problems.push(`partition of region ${region} (${regionPartition})`);
  }
  if (problems.length > 0) {
    throw new Error(
      `${what} must be a state machine ARN (${EXPECTED}), got: ${displayValue(arn)} (check: ${problems.join('; ')}). ` +
        `${STATE_MACHINE_ARN_FIX} Names, aliases and versions hold ${NAME_RULE}.`,
    );
  }
  return { partition, region, account, name, qualifier, form };
}

/**
 * Replaces the `AWS::Partition` pseudo parameter by the partition of a known region. The ARN is the same once
 * deployed, and the rendered policy stays literal: cdk-nag finding ids that hold `<AWS::Partition>` cannot be
 * acknowledged with `Validations.of(...).acknowledge`, which allows one `::` per id.
 */
export function withKnownPartition<P extends StateMachineArnParts>(parts: P): P {
  if (parts.partition !== Aws.PARTITION || Token.isUnresolved(parts.region)) return parts;
  return { ...parts, partition: RegionInfo.get(parts.region).partition ?? parts.partition };
}

function opaqueParts(arn: string): StateMachineArnParts {
  // 8 parts at most (qualified); Fn::Select past the end of a 7-part ARN would fail, so the qualifier is not read.
  const part = (index: number) => Fn.select(index, Fn.split(':', arn));
  return { partition: part(1), region: part(3), account: part(4), name: part(6), form: 'opaque' };
}

/** Where a state machine is: what its ARNs are built from (a child's split ARN, or a parent's stack and name). */
export type StateMachineLocation = Pick<StateMachineArnParts, 'partition' | 'region' | 'account' | 'name'>;

/** `arn:<p>:states:<r>:<a>:<resource type>:<name><suffix>`. */
function statesArn(parts: StateMachineLocation, resourceType: string, suffix: string): string {
  return `arn:${parts.partition}:states:${parts.region}:${parts.account}:${resourceType}:${parts.name}${suffix}`;
}

/** `arn:<p>:states:<r>:<a>:stateMachine:<name>`: what IAM authorizes StartExecution against, whatever the qualifier. */
export function unqualifiedStateMachineArn(parts: StateMachineLocation): string {
  return statesArn(parts, 'stateMachine', '');
}

/**
 * `arn:<p>:states:<r>:<a>:execution:<name>:*`: every execution of this state machine, including executions started
 * through an alias or a version, and nothing of a state machine whose name merely starts with `<name>`.
 */
export function executionArnPattern(parts: StateMachineLocation): string {
  return statesArn(parts, 'execution', ':*');
}

/**
 * `arn:<p>:states:<r>:<a>:execution:<name>/<label>:*`: the child workflow executions of this state machine's Map Runs
 * with that label (`*`: every label of this state machine, and nothing of another).
 */
export function mapRunExecutionArnPattern(parts: StateMachineLocation, label: string): string {
  return statesArn(parts, 'execution', `/${label}:*`);
}

/**
 * `arn:<p>:events:<r>:<a>:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`: the rule Step Functions manages
 * for `.sync` children, in the parent's region and account.
 */
export function managedRuleArn(parent: Pick<StateMachineLocation, 'partition' | 'region' | 'account'>): string {
  return `arn:${parent.partition}:events:${parent.region}:${parent.account}:rule/${MANAGED_RULE_NAME}`;
}

/**
 * An IAM role ARN, `arn:<partition>:iam::<account>:role/[<path>/]<name>`: what a task's `Credentials.RoleArn`, a
 * `credentials` role and a target role's `parentRole` must be.
 */
const ROLE_ARN = /^arn:[^:]+:iam::\d{12}:role\/.+$/;
/** The role ARN form, for messages. */
export const ROLE_ARN_FORM = 'arn:<partition>:iam::<account>:role/<name>';

/** Whether `value` is an IAM role ARN (a literal; check tokens before calling). */
export function isRoleArn(value: string): boolean {
  return ROLE_ARN.test(value);
}
