import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { NestedWorkflowChildBaseOptions } from './nested-workflow-role';
import { isRoleArn, ROLE_ARN_FORM } from './private/model/arns';
import { parseChildArn } from './private/read/state-machines';
import {
  checkChild,
  checkMaxManagedPolicies,
  ChildRecord,
  differ,
  externalIdNameError,
} from './private/role/child-checks';
import { registerTargetRole } from './private/role/lifecycle';
import { ChildPolicies } from './private/role/policies';

/**
 * Properties of a `NestedWorkflowTargetRole`.
 */
export interface NestedWorkflowTargetRoleProps extends NestedWorkflowChildBaseOptions {
  /**
   * The child state machine the parent starts, in this stack's account and region.
   */
  readonly child: sfn.IStateMachine;

  /**
   * The parent's role, in the parent's account (e.g. `iam.Role.fromRoleArn(...)`): the only principal trusted.
   */
  readonly parentRole: iam.IRole;

  /**
   * The parent state machine (e.g. `sfn.StateMachine.fromStateMachineArn(...)`).
   *
   * Step Functions passes its ARN as `sts:ExternalId` when it assumes this role; the trust policy requires it. With a
   * `RUN_JOB` child its name must hold only what `sts:ExternalId` allows (`[\w+=,.@:/-]`): another name is refused
   * (source: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-cross-acct-sync-pattern.html).
   *
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html
   */
  readonly parentStateMachine: sfn.IStateMachine;

  /**
   * A name for the role. Naming it lets the parent's stack import it by ARN before this stack is deployed.
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
   * The role's managed policies quota, for grants that do not fit in the inline policy quota. Managed policies
   * attached to the role otherwise count toward it: this construct attaches at most the rest.
   *
   * @default 10
   */
  readonly maxManagedPolicies?: number;
}

/**
 * The role a parent state machine assumes (task `Credentials`) to start a child state machine in another account,
 * deployed in the child's account.
 *
 * It trusts only the parent's role, with `sts:ExternalId` equal to the parent state machine's ARN, and grants
 * `states:StartExecution` on the child and, for `RUN_JOB`, `states:DescribeExecution`/`states:StopExecution` on the
 * child's executions: no events grants, since a cross-account `.sync` task only polls.
 *
 * @example
 * declare const childAccountStack: Stack; // a stack in the child's account
 * declare const child: sfn.IStateMachine;
 * declare const parentRoleArn: string;
 * declare const parentArn: string;
 *
 * const starter = new NestedWorkflowTargetRole(childAccountStack, 'ChildStarter', {
 *   child,
 *   integrationPattern: sfn.IntegrationPattern.RUN_JOB,
 *   parentRole: iam.Role.fromRoleArn(childAccountStack, 'ParentRole', parentRoleArn),
 *   parentStateMachine: sfn.StateMachine.fromStateMachineArn(childAccountStack, 'Parent', parentArn),
 * });
 */
export class NestedWorkflowTargetRole extends Construct implements iam.IGrantable {
  /** The role: pass `sfn.TaskRole.fromRole(role)` as the parent task's `credentials`. */
  public readonly role: iam.IRole;

  /** The principal to grant further permissions to (the role). */
  public readonly grantPrincipal: iam.IPrincipal;

  private readonly policies: ChildPolicies;
  private readonly parentName: string;

  constructor(scope: Construct, id: string, props: NestedWorkflowTargetRoleProps) {
    super(scope, id);

    // Validate everything before creating anything.
    const maxManagedPolicies = checkMaxManagedPolicies(this, props.maxManagedPolicies);
    const parentArn = props.parentStateMachine.stateMachineArn;
    const parent = parseChildArn(parentArn, `${this.node.path}: \`parentStateMachine\``);
    const roleArn = props.parentRole.roleArn;
    if (!Token.isUnresolved(roleArn) && !isRoleArn(roleArn)) {
      throw new Error(`${this.node.path}: \`parentRole\` must be an IAM role ARN (${ROLE_ARN_FORM}), got: ${roleArn}`);
    }
    const region = Stack.of(this).region;
    if (differ(parent.region, region)) {
      throw new Error(
        `${this.node.path}: \`parentStateMachine\` ${parentArn} is in region ${parent.region}, but this role's stack (and its child) is in region ${region}. ` +
          "Step Functions cannot start a state machine in another region: deploy the child in the parent's region.",
      );
    }
    const first = checkChild(this, props.child, props, 'target');
    if (parent.qualifier !== undefined) {
      throw new Error(
        `${this.node.path}: \`parentStateMachine\` must be the unqualified state machine ARN (the external id Step Functions sends), got: ${parentArn}`,
      );
    }
    this.parentName = parent.name;
    this.checkParentName(first);

    const role = new iam.Role(this, 'Resource', {
      assumedBy: new iam.ArnPrincipal(roleArn),
      externalIds: [parentArn],
      roleName: props.roleName,
      path: props.path,
      description: props.description,
      permissionsBoundary: props.permissionsBoundary,
    });
    this.role = role;
    this.grantPrincipal = role;
    this.policies = new ChildPolicies(this, role, maxManagedPolicies);
    this.policies.add(first);
    registerTargetRole(this, role, this.policies);
  }

  /**
   * Grants the role what it needs to start another child of this account for the same parent.
   *
   * @param child the child state machine
   * @param options how the parent starts it
   */
  public addChild(child: sfn.IStateMachine, options: NestedWorkflowChildBaseOptions = {}): void {
    const record = checkChild(this, child, options, 'target');
    this.checkParentName(record);
    this.policies.add(record);
  }

  /** A `.sync` child: Step Functions sends the parent's ARN as `sts:ExternalId`, so its name must fit that rule. */
  private checkParentName(record: ChildRecord): void {
    const error = externalIdNameError('the name of `parentStateMachine`', this.parentName, [record], 'this role');
    if (error) throw new Error(`${this.node.path}: ${error}`);
  }
}
