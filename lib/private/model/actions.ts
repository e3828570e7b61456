/**
 * The IAM actions, condition keys and managed rule of nested workflows: every module names them from here.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
 */

/** The name of the EventBridge rule that Step Functions manages for `.sync` integrations with Step Functions. */
export const MANAGED_RULE_NAME = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

export const START_EXECUTION = 'states:StartExecution';
export const START_SYNC_EXECUTION = 'states:StartSyncExecution';
export const DESCRIBE_EXECUTION = 'states:DescribeExecution';
export const STOP_EXECUTION = 'states:StopExecution';
/** What Step Functions calls on a `.sync` child's executions. */
export const EXECUTION_ACTIONS = [DESCRIBE_EXECUTION, STOP_EXECUTION];
export const REDRIVE_EXECUTION = 'states:RedriveExecution';
/** What Step Functions calls on the managed rule for a `.sync` child. */
export const EVENTS_ACTIONS = ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'];
export const ASSUME_ROLE = 'sts:AssumeRole';
export const KMS_DECRYPT = 'kms:Decrypt';
/** The actions that start a child state machine. */
export const START_ACTIONS = [START_EXECUTION, START_SYNC_EXECUTION];

/** The condition key of a qualified (alias or version) StartExecution. */
export const QUALIFIER_KEY = 'states:StateMachineQualifier';
/** The KMS encryption context key of a state machine's data. */
export const STATE_MACHINE_CONTEXT_KEY = 'kms:EncryptionContext:aws:states:stateMachineArn';
