import { CfnResource, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EXPECTED, isRoleArn, ROLE_ARN_FORM, STATE_MACHINE_ARN_FIX } from '../model/arns';
import { MANAGED_POLICIES_PER_ROLE } from '../model/bounds';
import { externalIdNameProblem } from '../model/names';
import { ChildNeeds, needsFor } from '../model/needs';
import { displayValue } from '../model/render';
import { ChildArnParts, stateMachineParts } from '../read/state-machines';

/** The options of a child, as both constructs take them. */
export interface ChildInput {
  readonly integrationPattern?: sfn.IntegrationPattern;
  readonly stateMachineType?: sfn.StateMachineType;
  readonly encryptionKey?: kms.IKey;
  readonly credentials?: sfn.Credentials;
  /** The task's `Credentials.RoleArn`, for a child read from a definition (instead of `credentials`). */
  readonly credentialsRoleArn?: string;
  /** The state of a definition that starts the child, for error messages (the child was passed directly if absent). */
  readonly stateName?: string;
  /**
   * True when the state's task is `states:startExecution.sync` (or `.sync:2`): for an Express child, `RUN_JOB` then
   * means that task rather than `aws-sdk:sfn:startSyncExecution`.
   */
  readonly startExecutionSync?: boolean;
}

/** A checked child and what it needs. */
export interface ChildRecord {
  /** The child's construct, when it was given as one (in the app or imported). */
  readonly stateMachine?: sfn.IStateMachine;
  readonly arn: string;
  readonly parts: ChildArnParts;
  readonly needs: ChildNeeds;
  /** The state of a definition that starts the child (undefined for a child passed directly). */
  readonly stateName?: string;
  /**
   * Why the child may not be startable, when the stack has no `env` to compare the child's literal region or account
   * with: warned as `ENV_UNCHECKED_WARNING` when the child is granted.
   */
  readonly envWarning?: string;
}

/** The id of the warning on a child whose literal region or account an environment-agnostic stack cannot check. */
export const ENV_UNCHECKED_WARNING = 'cdk-nested-workflow-role:childEnvUnchecked';

function literal(value: string | undefined): value is string {
  return value !== undefined && !Token.isUnresolved(value);
}

/** Who the role belongs to: the parent itself, or the role a parent assumes in the child's account. */
export type Grantee = 'parent' | 'target';

/** Whether two values known at synthesis differ (a token or an absent value differs from nothing). */
export function differ(a: string | undefined, b: string): boolean {
  return a !== undefined && !Token.isUnresolved(a) && !Token.isUnresolved(b) && a !== b;
}

/**
 * Validates a child and works out what it needs, without changing any state: errors name the value and the fix.
 */
export function checkChild(
  owner: Construct,
  child: sfn.IStateMachine | string,
  input: ChildInput,
  grantee: Grantee,
): ChildRecord {
  const path = owner.node.path;
  const stateMachine = typeof child === 'string' ? undefined : child;
  const arn = typeof child === 'string' ? child : child.stateMachineArn;
  const state = input.stateName;
  // How messages name the child: the prop, or the state of the definition that starts it.
  // Messages show tokens as <token>, never `${Token[...]}`.
  const shown = displayValue(arn);
  const subject = state === undefined ? `\`child\` ${shown}` : `The child ${shown} of state '${state}'`;
  const what = state === undefined ? `${path}: \`child\`` : `${path}: the StateMachineArn of state '${state}'`;
  checkChildReference(arn, what);
  const parts = stateMachineParts(child, what);
  const stack = Stack.of(owner);
  const region = Token.isUnresolved(parts.region) && stateMachine ? stateMachine.env.region : parts.region;
  const account = Token.isUnresolved(parts.account) && stateMachine ? stateMachine.env.account : parts.account;
  const pattern = input.integrationPattern ?? sfn.IntegrationPattern.REQUEST_RESPONSE;

  if (differ(region, stack.region)) {
    throw new Error(
      `${path}: ${subject} is in region ${region}, but the ${grantee === 'parent' ? "parent's" : "role's"} stack is in region ${stack.region}. ` +
        "Step Functions cannot start a state machine in another region: deploy the child in the parent's region, or the parent in the child's.",
    );
  }

  const declared = input.stateMachineType;
  const actual = stateMachine instanceof sfn.StateMachine ? stateMachine.stateMachineType : undefined;
  if (declared !== undefined && actual !== undefined && declared !== actual) {
    throw new Error(
      `${path}: \`stateMachineType\` is ${declared}, but the child ${stateMachine!.node.path} is ${actual}. ` +
        'Leave `stateMachineType` out for a state machine defined in the app: it is read from the state machine.',
    );
  }
  const express = (actual ?? declared) === sfn.StateMachineType.EXPRESS;
  const expressJob = express && pattern === sfn.IntegrationPattern.RUN_JOB && input.startExecutionSync === true;
  if (expressJob && (input.credentialsRoleArn !== undefined || input.credentials !== undefined)) {
    throw new Error(
      `${path}: ${subject} is an Express state machine started with startExecution.sync through Credentials (in another account), which Step Functions does not support for nested Express workflows. ` +
        `Use arn:<partition>:states:::aws-sdk:sfn:startSyncExecution in state '${state}'.`,
    );
  }

  let credentialsRole: string | undefined;
  if (input.credentialsRoleArn !== undefined) {
    const roleArn = input.credentialsRoleArn;
    if (!Token.isUnresolved(roleArn) && !isRoleArn(roleArn)) {
      throw new Error(
        `${path}: the Credentials.RoleArn of state '${state}' must be an IAM role ARN (${ROLE_ARN_FORM}), got: ${roleArn}`,
      );
    }
    if (pattern === sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN && differ(account, stack.account)) {
      throw new Error(
        `${path}: ${subject} is in account ${account} and uses .waitForTaskToken, but task tokens cannot cross accounts. ` +
          `Use startExecution.sync or startExecution in state '${state}' for a child in another account, or deploy the child in the parent's account.`,
      );
    }
    credentialsRole = roleArn;
  } else if (input.credentials !== undefined) {
    if (grantee === 'target') {
      throw new Error(
        `${path}: \`credentials\` do not apply to a NestedWorkflowTargetRole, which is itself the role the parent assumes. ` +
          "Pass `credentials` to the parent's NestedWorkflowRole.addChild instead.",
      );
    }
    const taskRole = input.credentials.role;
    if (taskRole.resource === '*') {
      throw new Error(
        `${path}: \`credentials.role\` must be a role known at synthesis (sfn.TaskRole.fromRole(role)), got a role chosen at run time (${taskRole.roleArn}). ` +
          'sts:AssumeRole cannot be scoped to a role taken from the input: name the role with TaskRole.fromRole.',
      );
    }
    if (!Token.isUnresolved(taskRole.roleArn) && !isRoleArn(taskRole.roleArn)) {
      throw new Error(
        `${path}: \`credentials.role\` must be an IAM role ARN (${ROLE_ARN_FORM}), got: ${displayValue(taskRole.roleArn)}. ` +
          "Pass the role the parent assumes in the child's account: sfn.TaskRole.fromRole(targetRole.role).",
      );
    }
    if (pattern === sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN && differ(account, stack.account)) {
      throw new Error(
        `${path}: \`child\` ${shown} is in account ${account} and uses WAIT_FOR_TASK_TOKEN, but task tokens cannot cross accounts. ` +
          "Use RUN_JOB or REQUEST_RESPONSE for a child in another account, or deploy the child in the parent's account.",
      );
    }
    if (input.encryptionKey !== undefined) {
      throw new Error(
        `${path}: \`encryptionKey\` is needed by the role that calls the child, which is the \`credentials\` role here. ` +
          "Pass `encryptionKey` to the NestedWorkflowTargetRole in the child's account instead.",
      );
    }
    credentialsRole = taskRole.roleArn;
  } else if (differ(account, stack.account) && state !== undefined) {
    throw new Error(
      `${path}: ${subject} is in account ${account}, but the parent's stack is in account ${stack.account}. ` +
        'Starting a child in another account needs a role in that account for the parent to assume: create a ' +
        `NestedWorkflowTargetRole in the child's account and set \`"Credentials": { "RoleArn": "<its role ARN>" }\` on state '${state}'.`,
    );
  } else if (differ(account, stack.account)) {
    throw new Error(
      grantee === 'parent'
        ? `${path}: \`child\` ${shown} is in account ${account}, but the parent's stack is in account ${stack.account}. ` +
            'Starting a child in another account needs a role in that account for the parent to assume: create a ' +
            "NestedWorkflowTargetRole in the child's account and pass `credentials: { role: sfn.TaskRole.fromRole(targetRole) }` to addChild."
        : `${path}: \`child\` ${shown} is in account ${account}, but this NestedWorkflowTargetRole's stack is in account ${stack.account}. ` +
            "Create the target role in the child's account.",
    );
  }

  // An environment-agnostic stack (what `cdk init` gives) cannot compare a literal region or account of the child:
  // warn, naming them. A child built from the stack's own pseudo parameters has none and gets no warning.
  const unchecked: Array<[string, string]> = [];
  if (literal(region) && Token.isUnresolved(stack.region)) unchecked.push(['region', region]);
  if (credentialsRole === undefined && literal(account) && Token.isUnresolved(stack.account)) {
    unchecked.push(['account', account]);
  }
  const envWarning =
    unchecked.length === 0
      ? undefined
      : `${subject} names ${unchecked.map(([field, value]) => `${field} ${value}`).join(' and ')}, but ` +
        `${grantee === 'parent' ? "the parent's" : "this role's"} stack sets no ${unchecked.map(([field]) => `\`env.${field}\``).join(' nor ')}, ` +
        'so synthesis cannot check that the child is where Step Functions can start it (not in another region' +
        (grantee === 'parent' ? ', nor in another account without task Credentials' : ", and in this role's account") +
        '); the role would then grant calls that never work. Give the stack an `env` (`new Stack(app, id, { env: { account, region } })`) ' +
        `to have it checked, or, if the stack is only deployed there, acknowledge this warning: Annotations.of(${grantee === 'parent' ? 'parentRole' : 'targetRole'}).acknowledgeWarning('${ENV_UNCHECKED_WARNING}', reason).`;

  const needs = needsFor({
    integrationPattern: pattern,
    express,
    startExecutionSync: expressJob,
    encryptionKey: input.encryptionKey?.keyArn,
    grantee: credentialsRole !== undefined ? 'parent-via-role' : grantee,
    credentialsRole,
  });
  return { stateMachine, arn, parts, needs, stateName: state, envWarning };
}

/**
 * Why a parent named `name` cannot start one of `records` (a `.sync` child in another account, whose role trusts
 * `sts:ExternalId` = the parent's ARN); undefined when it can, or when `name` is not known at synthesis.
 *
 * @param what how the message names the parent's name, e.g. "`parentStateMachineName`"
 * @param via the role Step Functions assumes: "Credentials" (the parent's task) or "this role" (a target role)
 */
export function externalIdNameError(
  what: string,
  name: string | undefined,
  records: ChildRecord[],
  via: string,
): string | undefined {
  if (name === undefined || Token.isUnresolved(name)) return undefined;
  const record = records.find((r) => r.needs.parentArnIsExternalId === true);
  const problem = record ? externalIdNameProblem(name) : undefined;
  if (!record || !problem) return undefined;
  const child =
    record.stateName === undefined
      ? `\`child\` ${displayValue(record.arn)} is started`
      : `state '${record.stateName}' starts the child ${displayValue(record.arn)}`;
  return (
    `${what} ${name} ${problem}, but ${child} with .sync (RUN_JOB) through ${via}, in another account, and Step Functions then ` +
    "sends the parent state machine's ARN as sts:ExternalId. Rename the parent state machine with those characters only, " +
    'or start the child with startExecution (request-response).'
  );
}

/** `maxManagedPolicies`: an integer from 0 to 20. */
export function checkMaxManagedPolicies(owner: Construct, value: number | undefined): number {
  const max = value ?? MANAGED_POLICIES_PER_ROLE;
  if (!Number.isInteger(max) || max < 0 || max > 20) {
    throw new Error(
      `${owner.node.path}: \`maxManagedPolicies\` must be an integer from 0 to 20 (IAM's quota per role), got: ${value}`,
    );
  }
  return max;
}

/** Resources whose `Ref` and `Fn::GetAtt Arn` are the ARN of something Step Functions can start. */
const STATE_MACHINE_TYPES = [
  'AWS::StepFunctions::StateMachine',
  'AWS::StepFunctions::StateMachineAlias',
  'AWS::StepFunctions::StateMachineVersion',
];
const ARN_ATTRIBUTES = ['Ref', 'Arn'];

/**
 * Resources whose attributes may hold any string, a state machine ARN among them: the outputs of a nested stack or
 * of a custom resource, the value of an SSM parameter.
 */
function carriesAnyValue(type: string): boolean {
  return type.startsWith('Custom::') || type.startsWith('AWS::CloudFormation::') || type === 'AWS::SSM::Parameter';
}

/**
 * Refuses a child ARN that starts with a reference to something that is not a state machine ARN: another kind of
 * resource (`fn.functionArn`), or another attribute of a state machine (`stateMachineName`). Such a value would be
 * split as if it were a state machine ARN and grant nothing useful; a literal ARN of the same resource is refused by
 * the ARN parser, and this refuses the token with the same message.
 *
 * References whose target cannot be known (parameters, imports, custom resources) are left to the ARN parser.
 *
 * @param what how the caller names the value in error messages, e.g. "`child`"
 */
export function checkChildReference(arn: string, what: string): void {
  if (!Token.isUnresolved(arn)) return;
  // The ARN starts with the reference: `${ref}` or `${ref}:PROD` (and not `arn:...:${name}`).
  const first = Tokenization.reverseString(arn).firstToken;
  if (!Reference.isReference(first)) return;
  const target = first.target;
  if (!CfnResource.isCfnResource(target)) return;
  const type = target.cfnResourceType;
  if (carriesAnyValue(type)) return;
  const attribute = first.displayName;
  if (STATE_MACHINE_TYPES.includes(type) && ARN_ATTRIBUTES.includes(attribute)) return;
  const got = attribute === 'Ref' ? `the Ref of ${target.node.path}` : `the ${attribute} of ${target.node.path}`;
  throw new Error(
    `${what} must be a state machine ARN (${EXPECTED}), ` +
      `got: ${got} (${type}) (check: a reference to the ARN of an AWS::StepFunctions::StateMachine, StateMachineAlias or StateMachineVersion). ` +
      STATE_MACHINE_ARN_FIX,
  );
}
