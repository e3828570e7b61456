import { Aws, Fn, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
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
  /** The state machine of this app the ARN belongs to (also for its alias or version ARN), when known. */
  readonly resource?: CfnStateMachine;
}

/**
 * What a state machine, alias or version name may hold, in words: Step Functions' naming rules (1-80 characters; no
 * white space, brackets, wildcards, the special characters below or control characters) and what an IAM policy
 * document may hold (U+0009, U+000A, U+000D and U+0020-U+00FF only), since the name ends up in the role's policies.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html#StepFunctions-CreateStateMachine-request-name
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names
 */
export const NAME_RULE =
  '1-80 characters from U+0021-U+007E and U+00A1-U+00FF, none of < > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : /';
const FORBIDDEN = '<>{}[]?*"#%\\^|~`$&,;:/';

/** `U+XXXX` for a code point. */
function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `value` cannot be a state machine, alias or version name (Step Functions' rules and what IAM can hold), naming
 * the first offending character as U+XXXX; undefined when it can.
 */
export function nameProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > 80) return `has ${value.length} characters, more than 80`;
  for (const character of value) {
    const code = character.codePointAt(0)!;
    const u = codePoint(code);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0xfffe || code === 0xffff) {
      return `holds ${u}, a control character, which Step Functions forbids in names`;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      return `holds ${u}, a lone surrogate (half of a UTF-16 pair), which Step Functions forbids in names`;
    }
    if (/\s/u.test(character)) return `holds ${u}, white space, which Step Functions forbids in names`;
    if (FORBIDDEN.includes(character)) return `holds ${u} (${character}), which Step Functions forbids in names`;
    if (code > 0xff) {
      return (
        `holds ${u} (${character}), which no IAM policy can hold ` +
        '(IAM accepts only U+0009, U+000A, U+000D and U+0020-U+00FF in a policy document)'
      );
    }
  }
  return undefined;
}

/**
 * A value for messages: tokens as `<partition>`/`<token>` (never `${Token[...]}`), characters a terminal would not
 * show as `\uXXXX`.
 */
export function displayValue(value: string): string {
  const text = Token.isUnresolved(value)
    ? value.replace(/\$\{Token\[AWS\.Partition\.\d+\]\}/g, '<partition>').replace(/\$\{Token\[[^\]]*\]\}/g, '<token>')
    : value;
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\ud800-\udfff\ufffe\uffff]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
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
 * @throws if a part that can be checked is not what a state machine ARN holds there
 */
export function parseStateMachineArn(arn: string, what: string): StateMachineArnParts {
  const parts = arn.split(':');
  if (Token.isUnresolved(arn) && parts.length < 7) {
    if (parts.length === 1) {
      return opaqueParts(arn);
    }
    const qualified = splitQualifiedToken(arn, what);
    if (qualified) {
      return { ...inAppParts(qualified.resource, what), qualifier: qualified.qualifier };
    }
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
 * The parts of a child's ARN. A state machine defined in this app is read from its own resource (its stack's
 * partition, region and account, its name), which renders as `Ref`/`Fn::GetAtt` rather than `Fn::Split` of its ARN;
 * any other child is split from its ARN.
 */
export function stateMachineParts(child: IStateMachine | string, what: string): StateMachineArnParts {
  const cfn = typeof child === 'string' ? undefined : child.node.defaultChild;
  if (cfn instanceof CfnStateMachine && typeof child !== 'string') {
    return inAppParts(cfn, what);
  }
  const parts = parseStateMachineArn(typeof child === 'string' ? child : child.stateMachineArn, what);
  return parts.form === 'tokenized' ? withKnownPartition(parts) : parts;
}

/** The parts of a state machine of this app, from its own resource (its stack's environment, its name). */
function inAppParts(cfn: CfnStateMachine, what: string): StateMachineArnParts {
  const literal = cfn.stateMachineName !== undefined && !Token.isUnresolved(cfn.stateMachineName);
  const problem = literal ? nameProblem(cfn.stateMachineName!) : undefined;
  if (problem) {
    throw new Error(
      `${what} must be a state machine with a name Step Functions and IAM accept (${NAME_RULE}), got: ${cfn.node.path} ` +
        `named ${displayValue(cfn.stateMachineName!)}, which ${problem}. Rename the state machine.`,
    );
  }
  const stack = Stack.of(cfn);
  return withKnownPartition({
    partition: stack.partition,
    region: stack.region,
    account: stack.account,
    name: inAppName(cfn),
    form: 'tokenized',
    resource: cfn,
  });
}

/**
 * `<ARN of a state machine of this app>:<literal qualifier>`, as `${child.stateMachineArn}:PROD` renders: the state
 * machine's resource and the qualifier; undefined for any other text (a parameter or an import followed by
 * `:PROD` may not be a state machine ARN at all).
 */
function splitQualifiedToken(arn: string, what: string): { resource: CfnStateMachine; qualifier: string } | undefined {
  const colon = arn.lastIndexOf(':');
  const qualifier = arn.slice(colon + 1);
  // Called for a token ARN with a colon (a single token is handled before).
  const resource = Token.isUnresolved(qualifier) ? undefined : stateMachineResourceOf(arn.slice(0, colon));
  if (!resource) return undefined;
  const problem = nameProblem(qualifier);
  if (problem) {
    throw new Error(
      `${what} must be a state machine ARN (${EXPECTED}), got: ${displayValue(arn)} (check: alias or version, which ${problem}). ` +
        `Aliases and versions hold ${NAME_RULE}.`,
    );
  }
  return { resource, qualifier };
}

/**
 * The state machine of this app whose ARN `arn` is exactly (`child.stateMachineArn`, a `Ref` to its resource), or
 * undefined.
 */
export function stateMachineResourceOf(arn: string): CfnStateMachine | undefined {
  if (!Token.isUnresolved(arn)) return undefined;
  const fragments = Tokenization.reverseString(arn);
  if (fragments.length !== 1) return undefined;
  const token = fragments.firstToken;
  // `Ref` and `Fn::GetAtt ... Arn` are the ARN; other attributes (`Name`) are not.
  const isArn = token instanceof Reference && (token.displayName === 'Ref' || token.displayName === 'Arn');
  return isArn && token.target instanceof CfnStateMachine ? token.target : undefined;
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
 * `arn:<p>:states:<r>:<a>:express:<name>:*`: every Express execution of this state machine (the Service Authorization
 * Reference's `express` resource type, `express:<name>:<execution id>:<express id>`, which DescribeExecution accepts).
 */
export function expressExecutionArnPattern(parts: StateMachineLocation): string {
  return statesArn(parts, 'express', ':*');
}

/**
 * `arn:<p>:states:<r>:<a>:execution:<name>/<label>:*`: the child workflow executions of this state machine's Map Runs
 * with that label (`*`: every label of this state machine, and nothing of another).
 */
export function mapRunExecutionArnPattern(parts: StateMachineLocation, label: string): string {
  return statesArn(parts, 'execution', `/${label}:*`);
}

/** The name of a state machine of this app: its literal `stateMachineName`, or else its `Name` attribute. */
export function inAppName(cfn: CfnStateMachine): string {
  return cfn.stateMachineName !== undefined && !Token.isUnresolved(cfn.stateMachineName)
    ? cfn.stateMachineName
    : cfn.attrName;
}
