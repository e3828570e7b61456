import { Token } from 'aws-cdk-lib';
import { EXECUTION_ACTIONS, REDRIVE_EXECUTION, START_EXECUTION } from './actions';
import {
  executionArnPattern,
  mapRunExecutionArnPattern,
  StateMachineLocation,
  unqualifiedStateMachineArn,
} from './arns';
import { MAP_RUN_LABEL, MAP_RUN_LABEL_RULE } from './names';
import { DistributedMapState, WaitingTask } from './tasks';

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

/** The parent state machine a Map Run starts, as ARN parts (tokens allowed). */
export type MapRunParent = StateMachineLocation;

/** A statement of the Map Run grants. */
export interface MapRunStatement {
  readonly actions: string[];
  readonly resources: string[];
}

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
    if (map.label !== undefined && !Token.isUnresolved(map.label) && !MAP_RUN_LABEL.test(map.label)) {
      return (
        `the Label of Distributed Map '${map.stateName}' must be ${MAP_RUN_LABEL_RULE}, got: ${map.label}. ` +
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

/**
 * The statements a parent needs to run and redrive the Map Runs of its Distributed Maps: StartExecution on itself,
 * Describe/Stop on its executions, RedriveExecution on the child workflow executions of each Map Run label (every
 * label of this parent when a map has none).
 */
export function mapRunStatements(parent: MapRunParent, maps: DistributedMapState[]): MapRunStatement[] {
  const labels = maps.some((m) => m.label === undefined) ? ['*'] : [...new Set(maps.map((m) => m.label!))];
  return [
    { actions: [START_EXECUTION], resources: [unqualifiedStateMachineArn(parent)] },
    { actions: EXECUTION_ACTIONS, resources: [executionArnPattern(parent)] },
    { actions: [REDRIVE_EXECUTION], resources: labels.map((label) => mapRunExecutionArnPattern(parent, label)) },
  ];
}
