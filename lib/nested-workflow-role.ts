import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ParentGrants } from './private/role/parent';

/**
 * How a child state machine is started, for the role that starts it.
 */
export interface NestedWorkflowChildBaseOptions {
  /**
   * The integration pattern of the parent's task that starts the child.
   *
   * - `REQUEST_RESPONSE` (`arn:<partition>:states:::states:startExecution`): `states:StartExecution` on the child.
   * - `RUN_JOB` (`...:startExecution.sync` and `.sync:2`): also `states:DescribeExecution` and
   *   `states:StopExecution` on the child's executions, and `events:PutTargets`, `events:PutRule`,
   *   `events:DescribeRule` on the rule `StepFunctionsGetEventsForStepFunctionsExecutionRule`. For an Express child,
   *   `RUN_JOB` means the `arn:<partition>:states:::aws-sdk:sfn:startSyncExecution` task: only
   *   `states:StartSyncExecution` on the child.
   * - `WAIT_FOR_TASK_TOKEN` (`...:startExecution.waitForTaskToken`): `states:StartExecution` on the child.
   *
   * @default sfn.IntegrationPattern.REQUEST_RESPONSE - only `states:StartExecution` is granted
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html
   */
  readonly integrationPattern?: sfn.IntegrationPattern;

  /**
   * The type of the child, for a child imported by ARN or name (a state machine defined in the app is read).
   *
   * @default - the type of a state machine defined in the app; STANDARD for an imported one
   */
  readonly stateMachineType?: sfn.StateMachineType;

  /**
   * The customer managed KMS key the child is encrypted with.
   *
   * AWS documents that callers of `DescribeExecution` and `StartSyncExecution` on such a state machine need
   * `kms:Decrypt` on its key: for `RUN_JOB` (and Express `startSyncExecution`) the role gets `kms:Decrypt` on this key
   * only, with the condition `kms:EncryptionContext:aws:states:stateMachineArn` = the child's ARN.
   *
   * @default - the child uses an AWS owned key: no KMS grant
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * How the parent starts one child state machine.
 */
export interface NestedWorkflowChildOptions extends NestedWorkflowChildBaseOptions {
  /**
   * The role the parent assumes to start the child (the task's `Credentials`), for a child in another account.
   *
   * The parent's role then gets only `sts:AssumeRole` on that role; the child's grants belong to that role (see
   * `NestedWorkflowTargetRole`). A role chosen at run time (`TaskRole.fromRoleArnJsonPath`) is refused: it cannot be
   * scoped.
   *
   * @default - the parent's own role starts the child, which must then be in the parent's account
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html
   */
  readonly credentials?: sfn.Credentials;
}

/**
 * The children that a state of the parent's definition may start, for a state that takes its child's ARN from its
 * input at run time (`"StateMachineArn.$": "$.childArn"`, or a JSONata expression).
 */
export interface NestedWorkflowRuntimeChildren {
  /** The name of the state in the definition. */
  readonly stateName: string;

  /**
   * Every state machine the state may start. Each is granted what the state's task needs (its integration pattern
   * and `Credentials` are read from the definition).
   */
  readonly children: sfn.IStateMachine[];
}

/**
 * Properties of a `NestedWorkflowRole`.
 */
export interface NestedWorkflowRoleProps extends NestedWorkflowChildOptions {
  /**
   * A child state machine the parent starts, with the props' `integrationPattern`.
   *
   * The state machine may be defined in this app, imported by ARN or by name, or addressed by an alias or version
   * ARN (`stateMachine:NAME:PROD`, `stateMachine:NAME:3`). More children can be added with `addChild`.
   *
   * @default - no child yet: add children with `addChild`, or give a definition; with neither, the role grants what
   *   the definition of the state machine that uses it starts
   */
  readonly child?: sfn.IStateMachine;

  /**
   * The parent's definition: the role grants what every task of it that starts a child state machine needs.
   *
   * Tasks are found at any depth (Parallel branches, Map iterators and item processors, distributed Maps):
   * `arn:<partition>:states:::states:startExecution` (request-response), `.sync` and `.sync:2` (run a job),
   * `.waitForTaskToken` (callback), and `arn:<partition>:states:::aws-sdk:sfn:startSyncExecution` (an Express child run
   * synchronously). The child is read from `Parameters.StateMachineArn` (JSONPath) or `Arguments.StateMachineArn`
   * (JSONata), and a child in another account from the task's `Credentials.RoleArn`. Other tasks get no grant from
   * this role: a warning lists them, with the `ItemReader`/`ResultWriter` of Distributed Maps. A Task state without a
   * string `Resource` is refused, as Step Functions refuses it.
   *
   * A child named by a workflow variable (`"StateMachineArn.$": "$childArn"`, `"{% $childArn %}"`) is each constant
   * assigned to it on the paths that reach the task (`Assign` of any state, Choice rule or Catcher, with the scopes of
   * Parallel branches and Map iterations; a Distributed Map's item processor sees no outer variable); a variable
   * assigned from the input or an expression on some path is a run-time child (`runtimeChildren`).
   *
   * `startExecution.sync` on an Express child of the app (in the parent's account) gets what a Standard `.sync` child
   * gets, and nothing on `express:<name>:*`: "Executions of an EXPRESS state machine aren't supported by
   * DescribeExecution unless a Map Run dispatched them" (DescribeExecution API reference), and SAM's integration test
   * `connector_sfn_to_sfn_sync` runs such a pair to SUCCEEDED without it. `aws-sdk:sfn:startSyncExecution`, which
   * needs only `states:StartSyncExecution`, is the recommended path. It is refused through `Credentials`: AWS
   * documents it unsupported across accounts. Sources:
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html,
   * https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html.
   *
   * A Distributed Map (`ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED`) starts child workflow executions of the
   * parent itself: the parent (`parentStateMachineName`, or the state machine of the app that uses the role) gets
   * `states:StartExecution` on itself, `states:DescribeExecution`/`states:StopExecution` on `execution:<parent>:*`
   * and `states:RedriveExecution` on `execution:<parent>/<label>:*` for each map `Label` (every label of the parent
   * when a map has none), in the policy `NestedWorkflowMapRunPolicy`, which the parent does not depend on. A
   * definition whose only nested workflows are Distributed Maps needs no child: the role then holds that policy only.
   * Sources: https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html,
   * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html.
   *
   * Pass the same `definitionBody` to the parent `sfn.StateMachine`. For `fromChainable`, the statements that
   * aws-cdk-lib's `StepFunctionsStartExecution` tasks would add to the role are left out: this role grants their
   * children exactly; the grants of the chain's other tasks still reach the role.
   *
   * @default - no definition: add children with `child` and `addChild`, or a definition with `addDefinition`; with
   *   none of these, the role reads the definition of the state machine that uses it (at synthesis) and grants what it
   *   starts
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
   */
  readonly definitionBody?: sfn.DefinitionBody;

  /**
   * The substitutions of `definitionBody`'s `${Name}` placeholders: the same as the parent state machine's.
   *
   * Values may be tokens, such as `child.stateMachineArn`.
   *
   * @default - no substitutions
   */
  readonly definitionSubstitutions?: { [key: string]: string };

  /**
   * The children that states of the definition which take their child's ARN from the input at run time may start.
   *
   * No policy can be scoped to an ARN chosen at run time, so such a state is refused unless it is listed here.
   *
   * @default - every state that starts a child names it in the definition
   */
  readonly runtimeChildren?: NestedWorkflowRuntimeChildren[];

  /**
   * A name for the role.
   *
   * @default - CloudFormation generates a unique name
   */
  readonly roleName?: string;

  /**
   * The path of the role.
   *
   * @default /
   */
  readonly path?: string;

  /**
   * A description of the role.
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * A managed policy that sets the maximum permissions of the role.
   *
   * @default - no permissions boundary
   */
  readonly permissionsBoundary?: iam.IManagedPolicy;

  /**
   * The name of the parent state machine that assumes this role.
   *
   * When given, the trust policy lets only that state machine, its versions and its aliases assume the role
   * (`ArnLike` `aws:SourceArn` on `stateMachine:<name>` and `stateMachine:<name>:*`: AWS does not document which of
   * these ARNs Step Functions sends when the parent runs through a version or an alias, so both are admitted); no other
   * state machine may, not even one whose name starts with `<name>`. Otherwise any state machine of this account and
   * region may (`stateMachine:*`).
   *
   * A definition with Distributed Maps is granted its Map Runs on this state machine (in the role's stack); without
   * it, on the one state machine of the app that uses the role.
   *
   * The name must be one Step Functions and IAM accept: 1-80 characters from U+0021-U+007E and U+00A1-U+00FF, none of
   * `< > { } [ ] ? * " # % \ ^ | ~ $ & , ; : /` or the backtick. When the parent starts a child with `.sync` through
   * `Credentials` (in another account), Step Functions sends its ARN as `sts:ExternalId`, so the name must also hold
   * only `[\w+=,.@:/-]`; another name is refused at synthesis (and so is the `stateMachineName` of the state machine
   * that uses the role). Source of the external id:
   * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-cross-acct-sync-pattern.html.
   *
   * @default - any state machine of the stack's account and region may assume the role
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html#prevent-cross-service-confused-deputy
   */
  readonly parentStateMachineName?: string;

  /**
   * The type of the parent state machine.
   *
   * Express workflows support only request-response integrations: for an Express parent, a task of the definition
   * that waits for a job or a callback (`.sync`, `.sync:2`, `.waitForTaskToken`) is refused, except inside a
   * Distributed Map whose child workflow executions are STANDARD. The type of an `sfn.StateMachine` of the app that
   * uses the role is read at synthesis, and checked the same way.
   *
   * @default - the type of the state machine of the app that uses the role; STANDARD if none does
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html
   */
  readonly parentStateMachineType?: sfn.StateMachineType;

  /**
   * The role's managed policies quota, for grants that do not fit in the inline policy quota (10,240 characters per
   * role, shared with the role's other inline policies).
   *
   * IAM allows 10 managed policies per role by default and up to 20 on request. Managed policies attached to the
   * role otherwise (`role.addManagedPolicy`, aws-cdk-lib's `OverflowPolicyN`) count toward it: this construct attaches
   * at most the rest.
   *
   * @default 10
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
   */
  readonly maxManagedPolicies?: number;
}

/**
 * An IAM role for a parent Step Functions state machine that starts child state machines (nested workflows),
 * granting exactly what Step Functions calls on the parent's behalf for each child and integration pattern.
 *
 * Pass `role` to the parent `sfn.StateMachine`: the state machine then depends on every policy of this role, so the
 * events grants that `.sync` children need exist when Step Functions creates the managed rule.
 *
 * At synthesis the role checks the state machines of the app that use it: none is a warning
 * (`cdk-nested-workflow-role:roleNotUsed`); one that deploys another definition than the role was given, or starts a
 * child the role does not grant as the task needs, is an error naming the state, the child and the fix.
 *
 * @example
 * declare const child: sfn.IStateMachine;
 *
 * const definitionBody = sfn.DefinitionBody.fromFile('parent.asl.json');
 * const definitionSubstitutions = { ChildArn: child.stateMachineArn };
 * const parentRole = new NestedWorkflowRole(this, 'ParentRole', { definitionBody, definitionSubstitutions });
 * new sfn.StateMachine(this, 'Parent', { role: parentRole.role, definitionBody, definitionSubstitutions });
 */
export class NestedWorkflowRole extends Construct implements iam.IGrantable {
  /** The role: pass it as the parent state machine's `role`. */
  public readonly role: iam.IRole;

  /** The principal to grant further permissions to (the role). */
  public readonly grantPrincipal: iam.IPrincipal;

  private readonly grants: ParentGrants;

  constructor(scope: Construct, id: string, props: NestedWorkflowRoleProps = {}) {
    super(scope, id);
    // Validates every prop before creating anything, then registers the phases that run at synthesis.
    this.grants = new ParentGrants(this, props);
    this.role = this.grants.role;
    this.grantPrincipal = this.grants.role;
  }

  /**
   * Grants the parent what every task of `definitionBody` that starts a child state machine needs, like the
   * `definitionBody` prop (see there).
   *
   * It may be called before or after the parent state machine is created: the role holds back the statements
   * aws-cdk-lib's tasks add to it until synthesis, when every definition is known.
   *
   * @param definitionBody the parent's definition (`sfn.DefinitionBody.fromFile`, `fromString` or `fromChainable`)
   * @param definitionSubstitutions the substitutions of its `${Name}` placeholders, as given to the state machine
   */
  public addDefinition(definitionBody: sfn.DefinitionBody, definitionSubstitutions?: { [key: string]: string }): void {
    this.grants.addDefinition(definitionBody, definitionSubstitutions);
  }

  /**
   * Grants the parent what it needs to start `child` with the given integration pattern.
   *
   * Adding the same child again grants the union of its patterns.
   *
   * @param child the child state machine (in this app, imported by ARN or name, or an alias or version ARN)
   * @param options how the parent starts it
   */
  public addChild(child: sfn.IStateMachine, options: NestedWorkflowChildOptions = {}): void {
    this.grants.addChild(child, options);
  }
}
