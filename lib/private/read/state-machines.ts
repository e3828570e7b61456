import { Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { EXPECTED, parseStateMachineArn, StateMachineArnParts, withKnownPartition } from '../model/arns';
import { NAME_RULE, nameProblem } from '../model/names';
import { displayValue } from '../model/render';

/**
 * The state machines of the app behind an ARN: a child given as a construct, or an ARN token of one, is read from its
 * own resource (its stack's environment, its name), which renders as `Ref`/`Fn::GetAtt` rather than `Fn::Split`.
 */

/** The parts of a child's ARN, with the state machine of this app it belongs to (also for its alias or version). */
export interface ChildArnParts extends StateMachineArnParts {
  readonly resource?: sfn.CfnStateMachine;
}

/**
 * Splits a state machine ARN (`parseStateMachineArn`), reading `${stateMachine.stateMachineArn}:PROD` of a state
 * machine of this app as its alias or version.
 */
export function parseChildArn(arn: string, what: string): ChildArnParts {
  return parseStateMachineArn<ChildArnParts>(arn, what, qualifiedInApp);
}

/**
 * The parts of a child's ARN. A state machine defined in this app is read from its own resource; any other child is
 * split from its ARN.
 */
export function stateMachineParts(child: sfn.IStateMachine | string, what: string): ChildArnParts {
  const cfn = typeof child === 'string' ? undefined : child.node.defaultChild;
  if (cfn instanceof sfn.CfnStateMachine && typeof child !== 'string') {
    return inAppParts(cfn, what);
  }
  const parts = parseChildArn(typeof child === 'string' ? child : child.stateMachineArn, what);
  return parts.form === 'tokenized' ? withKnownPartition(parts) : parts;
}

/** The parts of a state machine of this app, from its own resource (its stack's environment, its name). */
function inAppParts(cfn: sfn.CfnStateMachine, what: string): ChildArnParts {
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
 * machine's parts with the qualifier; undefined for any other text (a parameter or an import followed by `:PROD` may
 * not be a state machine ARN at all).
 */
function qualifiedInApp(arn: string, what: string): ChildArnParts | undefined {
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
  return { ...inAppParts(resource, what), qualifier };
}

/**
 * The state machine of this app whose ARN `arn` is exactly (`child.stateMachineArn`, a `Ref` to its resource), or
 * undefined.
 */
export function stateMachineResourceOf(arn: string): sfn.CfnStateMachine | undefined {
  if (!Token.isUnresolved(arn)) return undefined;
  const fragments = Tokenization.reverseString(arn);
  if (fragments.length !== 1) return undefined;
  const token = fragments.firstToken;
  // `Ref` and `Fn::GetAtt ... Arn` are the ARN; other attributes (`Name`) are not.
  const isArn = token instanceof Reference && (token.displayName === 'Ref' || token.displayName === 'Arn');
  return isArn && token.target instanceof sfn.CfnStateMachine ? token.target : undefined;
}

/**
 * The `sfn.StateMachine` of this app whose ARN `arn` is exactly (a substitution `child.stateMachineArn`), so that it
 * is read from its own resource like a child passed to `addChild`. An alias or version of it
 * (`${child.stateMachineArn}:PROD`) stays a string: `stateMachineParts` reads it from the same resource.
 */
export function stateMachineOfArn(arn: string): sfn.IStateMachine | undefined {
  const resource = stateMachineResourceOf(arn);
  const scope = resource?.node.scope;
  return scope instanceof sfn.StateMachine ? scope : undefined;
}

/** The name of a state machine of this app: its literal `stateMachineName`, or else its `Name` attribute. */
export function inAppName(cfn: sfn.CfnStateMachine): string {
  return cfn.stateMachineName !== undefined && !Token.isUnresolved(cfn.stateMachineName)
    ? cfn.stateMachineName
    : cfn.attrName;
}
