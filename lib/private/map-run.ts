import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DistributedMapState, WaitingTask } from './definition';
import { EXECUTION_ACTIONS, REDRIVE_EXECUTION, START_EXECUTION } from './grants';
import { findRoleUsers } from './role-users';
import {
  executionArnPattern,
  inAppName,
  mapRunExecutionArnPattern,
  StateMachineLocation,
  unqualifiedStateMachineArn,
} from './state-machine-arn';

/**
 * What a parent whose definition holds Distributed Maps needs to run their Map Runs, and the limits that Express
 * executions put on the tasks of a definition.
 *
 * A Distributed Map starts child workflow executions of the parent state machine itself
 * (`execution:<parent>/<label>:<id>`). AWS documents what the parent's role needs:
 * - "IAM policies for using Distributed Map states": `states:StartExecution` on the parent's own state machine, and
 *   `states:DescribeExecution` (with `states:StopExecution` in the page's earlier revisions, and in aws-cdk-lib's
 *   `DistributedMapPolicy`) on `execution:<parent>:*`;
 * - "Redriving Map Runs": `states:RedriveExecution` on `execution:<parent>/<label>:*`.
 */

/** The policy that holds the Map Run grants: a sibling of the role, so that the parent does not depend on it. */
export const MAP_RUN_POLICY_ID = 'MapRunPolicy';

/** Map Run labels: what Step Functions allows in a `Label`, and never an IAM wildcard. */
const LABEL = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,40}$/;

/** The parent state machine a Map Run starts, as ARN parts (tokens allowed). */
export type MapRunParent = StateMachineLocation;

/**
 * Checks the Distributed Maps of a definition: a `Label` that a policy can scope to, and no task that waits (`.sync`,
 * `.waitForTaskToken`) in the Express child workflow executions of a Distributed Map.
 *
 * @throws with the state, the value and the fix
 */
export function checkDistributedMaps(path: string, maps: DistributedMapState[], waiting: WaitingTask[]): void {
  const error = distributedMapError(maps, waiting);
  if (error) throw new Error(`${path}: ${error}`);
}

/**
 * What `checkDistributedMaps` refuses, as a message without the construct path (the checks name the parent
 * themselves), or undefined.
 */
export function distributedMapError(maps: DistributedMapState[], waiting: WaitingTask[]): string | undefined {
  for (const map of maps) {
    if (map.label !== undefined && !Token.isUnresolved(map.label) && !LABEL.test(map.label)) {
      return (
        `the Label of Distributed Map '${map.stateName}' must be 1-40 characters without white space, wildcards (* ?) or any of <>{}[]"#%\\^|~\`$&,;:/, got: ${map.label}. ` +
        'Step Functions refuses such a label, and an IAM policy could not be scoped to it: rename the Map Run label.'
      );
    }
  }
  const inExpressMap = waiting.find((task) => task.runsIn === 'EXPRESS');
  if (inExpressMap) {
    return (
      `state '${inExpressMap.stateName}' (${inExpressMap.resource}) waits for a job or a callback, but it runs in the Express child workflow executions of Distributed Map '${inExpressMap.mapState}' ` +
      '(ItemProcessor.ProcessorConfig.ExecutionType: EXPRESS), and Express workflows support only request-response integrations. ' +
      'Use the request-response resource (without .sync or .waitForTaskToken), arn:<partition>:states:::aws-sdk:sfn:startSyncExecution for an Express child, or ExecutionType STANDARD.'
    );
  }
  return undefined;
}

/**
 * The tasks an Express parent cannot run: those that wait (`.sync`, `.waitForTaskToken`) in the parent's own
 * executions (a Standard Distributed Map's child workflow executions are Standard, whatever the parent).
 *
 * @param parent how the message names the parent, e.g. "`parentStateMachineType` is EXPRESS"
 * @returns the error (without the construct path), or undefined
 */
export function expressParentError(parent: string, waiting: WaitingTask[]): string | undefined {
  const task = waiting.find((t) => t.runsIn === 'parent');
  if (!task) return undefined;
  return (
    `${parent}, but state '${task.stateName}' (${task.resource}) waits for a job or a callback, and Express workflows support only request-response integrations. ` +
    'Use the request-response resource (without .sync or .waitForTaskToken) or arn:<partition>:states:::aws-sdk:sfn:startSyncExecution for an Express child, or make the parent a STANDARD state machine.'
  );
}

/** The Express state machines of the app that use `role` (read at synthesis). */
export function expressUsers(role: iam.IRole): string[] {
  return findRoleUsers(role)
    .filter(
      (user) =>
        (user.stateMachine?.stateMachineType ?? user.resource.stateMachineType) === sfn.StateMachineType.EXPRESS,
    )
    .map((user) => (user.stateMachine ?? user.resource).node.path);
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
        : `${users.length} state machines use this role (${users.map((u) => (u.stateMachine ?? u.resource).node.path).join(', ')}). ` +
          'Give each parent its own NestedWorkflowRole, or set `parentStateMachineName` to the one that holds the Distributed Map.')
    );
  }
  const cfn = users[0].resource;
  const stack = Stack.of(cfn);
  return { partition: stack.partition, region: stack.region, account: stack.account, name: inAppName(cfn) };
}

/**
 * The statements a parent needs to run and redrive the Map Runs of its Distributed Maps: StartExecution on itself,
 * Describe/Stop on its executions, RedriveExecution on the child workflow executions of each Map Run label (every
 * label of this parent when a map has none).
 */
export function mapRunStatements(parent: MapRunParent, maps: DistributedMapState[]): iam.PolicyStatement[] {
  const labels = maps.some((m) => m.label === undefined) ? ['*'] : [...new Set(maps.map((m) => m.label!))];
  return [
    new iam.PolicyStatement({ actions: [START_EXECUTION], resources: [unqualifiedStateMachineArn(parent)] }),
    new iam.PolicyStatement({ actions: EXECUTION_ACTIONS, resources: [executionArnPattern(parent)] }),
    new iam.PolicyStatement({
      actions: [REDRIVE_EXECUTION],
      resources: labels.map((label) => mapRunExecutionArnPattern(parent, label)),
    }),
  ];
}

/**
 * Attaches the Map Run grants to `role` as their own inline policy, a child of `owner` (not of the role): the parent
 * state machine depends on the role's subtree, and this policy may hold the parent's own ARN.
 */
export function attachMapRunPolicy(owner: Construct, role: iam.IRole, statements: iam.PolicyStatement[]): void {
  new iam.CfnPolicy(owner, MAP_RUN_POLICY_ID, {
    policyName: 'NestedWorkflowMapRunPolicy',
    roles: [role.roleName],
    policyDocument: new iam.PolicyDocument({ minimize: false, statements }),
  });
}
