import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** What the ASL reader finds in a definition: the tasks that start children, Distributed Maps, waiting tasks. */

/** A task of the definition that starts a child state machine. */
export interface NestedTask {
  /** The state's name (unique in a state machine). */
  readonly stateName: string;
  readonly integrationPattern: sfn.IntegrationPattern;
  /** True for `aws-sdk:sfn:startSyncExecution`: only an Express child can be started that way. */
  readonly express: boolean;
  /** The child's ARN with substitutions applied (may hold tokens); undefined when chosen at run time. */
  readonly stateMachineArn?: string;
  /** How the state chooses its child at run time (`"StateMachineArn.$": "$.arn"`, a JSONata expression). */
  readonly runtimeArn?: string;
  /**
   * The constant the ARN was read from, when it is not written as it is: a JSONata string literal (`{% 'arn:...' %}`)
   * or a workflow variable assigned only constants on the paths to the state (`$childArn`). A state whose variable
   * holds several constants is one task per constant.
   */
  readonly constant?: string;
  /** `Credentials.RoleArn`, substitutions applied. */
  readonly credentialsRoleArn?: string;
  /** The task's `Resource`, for messages. */
  readonly resource: string;
}

/** A Map state whose `ItemProcessor.ProcessorConfig.Mode` is `DISTRIBUTED`. */
export interface DistributedMapState {
  readonly stateName: string;
  /** `Label` (the Map Run's name in its child executions' ARNs), undefined when the state has none. */
  readonly label?: string;
  /** `ItemProcessor.ProcessorConfig.ExecutionType`: the type of the Map Run's child workflow executions. */
  readonly executionType: 'STANDARD' | 'EXPRESS';
  /** An `sfn.DistributedMap` of a chain: aws-cdk-lib attaches its own `DistributedMapPolicy` to the role for it. */
  readonly cdkDistributedMap: boolean;
}

/** A task that waits for a job or a callback (`.sync`, `.sync:2`, `.waitForTaskToken`). */
export interface WaitingTask {
  readonly stateName: string;
  /** The task's `Resource`, for messages. */
  readonly resource: string;
  /**
   * The execution it runs in: `parent` (the parent's own executions, whatever their type), or the child workflow
   * executions of the innermost Distributed Map around it (`STANDARD` or `EXPRESS`), named by `mapState`.
   */
  readonly runsIn: 'parent' | 'STANDARD' | 'EXPRESS';
  readonly mapState?: string;
}
