import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { checkChild, checkMaxManagedPolicies, ChildPolicies } from './private/child-role';

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
 * Properties of a `NestedWorkflowRole`.
 */
export interface NestedWorkflowRoleProps extends NestedWorkflowChildOptions {
  /**
   * A child state machine the parent starts, with the props' `integrationPattern`.
   *
   * The state machine may be defined in this app, imported by ARN or by name, or addressed by an alias or version
   * ARN (`stateMachine:NAME:PROD`, `stateMachine:NAME:3`). More children can be added with `addChild`.
   *
   * @default - no child yet: add at least one with `addChild` before synthesis
   */
  readonly child?: sfn.IStateMachine;

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
   * When given, the trust policy lets only that state machine assume the role (`aws:SourceArn` equal to its ARN);
   * otherwise any state machine of this account and region may (`stateMachine:*`).
   *
   * @default - any state machine of the stack's account and region may assume the role
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html#prevent-cross-service-confused-deputy
   */
  readonly parentStateMachineName?: string;

  /**
   * How many managed policies this construct may attach to the role when the grants do not fit in the inline
   * policy quota (10,240 characters per role).
   *
   * IAM allows 10 managed policies per role by default and up to 20 on request; lower this if you attach managed
   * policies of your own to the role.
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
 * @example
 * declare const childStateMachine: sfn.IStateMachine;
 * declare const definitionBody: sfn.DefinitionBody;
 *
 * const parentRole = new NestedWorkflowRole(this, 'ParentRole', {
 *   child: childStateMachine,
 *   integrationPattern: sfn.IntegrationPattern.RUN_JOB,
 * });
 * new sfn.StateMachine(this, 'Parent', { role: parentRole.role, definitionBody });
 */
export class NestedWorkflowRole extends Construct implements iam.IGrantable {
  /** The role: pass it as the parent state machine's `role`. */
  public readonly role: iam.IRole;

  /** The principal to grant further permissions to (the role). */
  public readonly grantPrincipal: iam.IPrincipal;

  private readonly policies: ChildPolicies;

  constructor(scope: Construct, id: string, props: NestedWorkflowRoleProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    // Validate everything before creating anything.
    const maxManagedPolicies = checkMaxManagedPolicies(this, props.maxManagedPolicies);
    const name = props.parentStateMachineName;
    if (name !== undefined && !Token.isUnresolved(name) && !/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
      throw new Error(
        `${this.node.path}: \`parentStateMachineName\` must be a state machine name (1-80 letters, digits, "-" or "_"), got: ${name}. ` +
          'Pass the name, not the ARN, of the parent state machine.',
      );
    }
    if (props.child === undefined && props.integrationPattern !== undefined) {
      throw new Error(
        `${this.node.path}: \`integrationPattern\` applies to \`child\`, but no \`child\` was given. ` +
          'Pass `child` too, or give the pattern to `addChild(child, { integrationPattern })`.',
      );
    }
    const first = props.child ? checkChild(this, props.child, props, 'parent') : undefined;

    const sourceArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: name ?? '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const role = new iam.Role(this, 'Resource', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': sourceArn },
        },
      }),
      roleName: props.roleName,
      path: props.path,
      description: props.description,
      permissionsBoundary: props.permissionsBoundary,
    });
    this.role = role;
    this.grantPrincipal = role;
    this.policies = new ChildPolicies(this, role, maxManagedPolicies);
    if (first) this.policies.add(first);
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
    this.policies.add(checkChild(this, child, options, 'parent'));
  }
}
