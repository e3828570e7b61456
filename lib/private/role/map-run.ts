import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { MapRunParent, mapRunStatements } from '../model/execution';
import { DistributedMapState } from '../model/tasks';
import { findRoleUsers, RoleUser, userPath } from '../read/role-users';
import { inAppName } from '../read/state-machines';

/** The policy that holds the Map Run grants: a sibling of the role, so that the parent does not depend on it. */
export const MAP_RUN_POLICY_ID = 'MapRunPolicy';

/** The paths of the Express state machines among `users`, the state machines that use a role. */
export function expressUsers(users: RoleUser[]): string[] {
  return users
    .filter(
      (user) =>
        (user.stateMachine?.stateMachineType ?? user.resource.stateMachineType) === sfn.StateMachineType.EXPRESS,
    )
    .map(userPath);
}

/**
 * The parent whose Map Runs the role runs: `parentStateMachineName` in the role's stack, or else the one state
 * machine of the app that uses the role (its name when known at synthesis, else its `Name` attribute).
 *
 * @returns the parent, or an error message
 */
export function mapRunParent(
  owner: Construct,
  role: iam.IRole,
  parentStateMachineName: string | undefined,
  maps: DistributedMapState[],
): MapRunParent | string {
  if (parentStateMachineName !== undefined) {
    const stack = Stack.of(owner);
    return { partition: stack.partition, region: stack.region, account: stack.account, name: parentStateMachineName };
  }
  const users = findRoleUsers(role);
  const mapNames = maps.map((m) => `'${m.stateName}'`).join(', ');
  if (users.length !== 1) {
    return (
      `Distributed Map ${mapNames} runs child workflow executions of the parent state machine itself, so the role needs the parent's ARN, but ` +
      (users.length === 0
        ? 'no state machine of the app uses this role. Pass the role to the parent (`new sfn.StateMachine(this, id, { role: parentRole.role, ... })`), or set `parentStateMachineName`.'
        : `${users.length} state machines use this role (${users.map(userPath).join(', ')}). ` +
          'Give each parent its own NestedWorkflowRole, or set `parentStateMachineName` to the one that holds the Distributed Map.')
    );
  }
  const cfn = users[0].resource;
  const stack = Stack.of(cfn);
  return { partition: stack.partition, region: stack.region, account: stack.account, name: inAppName(cfn) };
}

/**
 * Attaches the Map Run grants of `maps` on `parent` to `role` as their own inline policy, a child of `owner` (not of
 * the role): the parent state machine depends on the role's subtree, and this policy may hold the parent's own ARN.
 */
export function attachMapRunPolicy(
  owner: Construct,
  role: iam.IRole,
  parent: MapRunParent,
  maps: DistributedMapState[],
): void {
  const statements = mapRunStatements(parent, maps).map((statement) => new iam.PolicyStatement(statement));
  new iam.CfnPolicy(owner, MAP_RUN_POLICY_ID, {
    policyName: 'NestedWorkflowMapRunPolicy',
    roles: [role.roleName],
    policyDocument: new iam.PolicyDocument({ minimize: false, statements }),
  });
}
