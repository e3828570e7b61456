import { Aws, Fn, Stack, Token } from 'aws-cdk-lib';
import { CfnStateMachine, IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { RegionInfo } from 'aws-cdk-lib/region-info';

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

/** State machine, alias and version names: no white space, no IAM wildcards, none of the characters AWS forbids. */
const NAME = /^[^\s:*?<>{}[\]"#%\\^|~`$&,;/]{1,80}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
const PARTITION = /^aws(-[a-z]+)*$/;
const EXPECTED = 'arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<alias or version>]';

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
 * @throws if a part that can be checked is not what a state machine ARN holds there
 */
export function parseStateMachineArn(arn: string, what: string): StateMachineArnParts {
  const parts = arn.split(':');
  if (Token.isUnresolved(arn) && parts.length < 7) {
    if (parts.length === 1) {
      return opaqueParts(arn);
    }
    throw new Error(`${what} must be a state machine ARN (${EXPECTED}), got: ${arn}`);
  }
  const form = Token.isUnresolved(arn) ? 'tokenized' : 'literal';
  const [prefix, partition, service, region, account, resource, name, qualifier] = parts;
  const problems: string[] = [];
  const check = (value: string | undefined, pattern: RegExp, label: string) => {
    if (value === undefined || (!Token.isUnresolved(value) && !pattern.test(value))) {
      problems.push(label);
    }
  };
  if (parts.length > 8) problems.push('no more than 8 colon-separated parts');
  if (prefix !== 'arn') problems.push('"arn" prefix');
  check(partition, PARTITION, 'partition');
  if (service !== 'states') problems.push('service "states"');
  check(region, REGION, 'region');
  check(account, ACCOUNT, '12-digit account');
  if (resource !== 'stateMachine') problems.push('resource type "stateMachine"');
  check(name, NAME, 'name');
  if (qualifier !== undefined) check(qualifier, NAME, 'alias or version');
  const regionPartition = region && !Token.isUnresolved(region) ? RegionInfo.get(region).partition : undefined;
  if (regionPartition && partition && !Token.isUnresolved(partition) && partition !== regionPartition) {
    problems.push(`partition of region ${region} (${regionPartition})`);
  }
  if (problems.length > 0) {
    throw new Error(
      `${what} must be a state machine ARN (${EXPECTED}), got: ${arn} (check: ${problems.join(', ')}). ` +
        'Pass the ARN of a state machine, or of one of its aliases or versions; activities, executions and other resources cannot be started.',
    );
  }
  return { partition, region, account, name, qualifier, form };
}

/**
 * The parts of a child's ARN. A state machine defined in this app is read from its own resource (its stack's
 * partition, region and account, its name), which renders as `Ref`/`Fn::GetAtt` rather than `Fn::Split` of its ARN;
 * any other child is split from its ARN.
 */
export function stateMachineParts(child: IStateMachine | string, what: string): StateMachineArnParts {
  const cfn = typeof child === 'string' ? undefined : child.node.defaultChild;
  if (cfn instanceof CfnStateMachine && typeof child !== 'string') {
    const name =
      cfn.stateMachineName !== undefined && !Token.isUnresolved(cfn.stateMachineName)
        ? cfn.stateMachineName
        : cfn.attrName;
    return withKnownPartition({
      partition: Stack.of(cfn).partition,
      region: child.env.region,
      account: child.env.account,
      name,
      form: 'tokenized',
    });
  }
  const parts = parseStateMachineArn(typeof child === 'string' ? child : child.stateMachineArn, what);
  return parts.form === 'tokenized' ? withKnownPartition(parts) : parts;
}

/**
 * Replaces the `AWS::Partition` pseudo parameter by the partition of a known region. The ARN is the same once
 * deployed, and the rendered policy stays literal: cdk-nag finding ids that hold `<AWS::Partition>` cannot be
 * acknowledged with `Validations.of(...).acknowledge`, which allows one `::` per id.
 */
function withKnownPartition(parts: StateMachineArnParts): StateMachineArnParts {
  if (parts.partition !== Aws.PARTITION || Token.isUnresolved(parts.region)) return parts;
  return { ...parts, partition: RegionInfo.get(parts.region).partition ?? parts.partition };
}

function opaqueParts(arn: string): StateMachineArnParts {
  // 8 parts at most (qualified); Fn::Select past the end of a 7-part ARN would fail, so the qualifier is not read.
  const part = (index: number) => Fn.select(index, Fn.split(':', arn));
  return { partition: part(1), region: part(3), account: part(4), name: part(6), form: 'opaque' };
}

/** `arn:<p>:states:<r>:<a>:stateMachine:<name>`: what IAM authorizes StartExecution against, whatever the qualifier. */
export function unqualifiedStateMachineArn(parts: StateMachineArnParts): string {
  return `arn:${parts.partition}:states:${parts.region}:${parts.account}:stateMachine:${parts.name}`;
}

/**
 * `arn:<p>:states:<r>:<a>:execution:<name>:*`: every execution of this state machine, including executions started
 * through an alias or a version, and nothing of a state machine whose name merely starts with `<name>`.
 */
export function executionArnPattern(parts: StateMachineArnParts): string {
  return `arn:${parts.partition}:states:${parts.region}:${parts.account}:execution:${parts.name}:*`;
}
