import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** A state machine of the app that assumes a given role. */
export interface RoleUser {
  /** The state machine resource (an L1 `CfnStateMachine`, or the one inside an `sfn.StateMachine`). */
  readonly resource: sfn.CfnStateMachine;
  /** The L2 state machine that owns `resource`, when it was built with `sfn.StateMachine`. */
  readonly stateMachine?: sfn.StateMachine;
}

/** The construct path messages name a role user by: its L2 state machine's, else its resource's. */
export function userPath(user: RoleUser): string {
  return (user.stateMachine ?? user.resource).node.path;
}

/**
 * Every state machine in the app whose `RoleArn` is `role`'s ARN, whatever the order of construction. Call it at
 * synthesis (an aspect or a validation), once the app is complete.
 *
 * A state machine uses the role when its `roleArn` is the very token of `role.roleArn` (what `sfn.StateMachine` with
 * `role` and an L1 given `role.roleArn` hold), or resolves to the same value.
 */
export function findRoleUsers(role: iam.IRole): RoleUser[] {
  const users: RoleUser[] = [];
  const roleStack = Stack.of(role);
  const resolvedRole = JSON.stringify(roleStack.resolve(role.roleArn));
  for (const node of role.node.root.node.findAll()) {
    if (!(node instanceof sfn.CfnStateMachine)) continue;
    const roleArn = node.roleArn;
    if (roleArn === undefined) continue;
    const same =
      roleArn === role.roleArn ||
      (Token.isUnresolved(roleArn) &&
        Stack.of(node) === roleStack &&
        JSON.stringify(roleStack.resolve(roleArn)) === resolvedRole);
    if (!same) continue;
    const scope = node.node.scope;
    users.push({ resource: node, stateMachine: scope instanceof sfn.StateMachine ? scope : undefined });
  }
  return users;
}
