import * as path from 'path';
import { App, AppProps, Aws, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole } from '../lib';

/** The example app, its one stack, the parent role whose policies the example prints, and the parent. */
export interface ExampleApp {
  readonly app: App;
  readonly stack: Stack;
  readonly parentRole: NestedWorkflowRole;
  readonly parent: sfn.StateMachine;
}

/** A child state machine that does nothing but succeed. */
function child(
  stack: Stack,
  id: string,
  stateMachineName: string,
  stateMachineType?: sfn.StateMachineType,
): sfn.StateMachine {
  return new sfn.StateMachine(stack, id, {
    stateMachineName,
    stateMachineType,
    definitionBody: sfn.DefinitionBody.fromChainable(
      new sfn.Pass(stack, `${id}Pass`).next(new sfn.Succeed(stack, `${id}Done`)),
    ),
  });
}

/**
 * The callback child: sends the parent's task token back (`SendTaskSuccess`), so that the parent's
 * WAIT_FOR_TASK_TOKEN task completes and a deployed example runs to SUCCEEDED (a real child would work first).
 */
function callbackChild(stack: Stack, id: string, stateMachineName: string): sfn.StateMachine {
  return new sfn.StateMachine(stack, id, {
    stateMachineName,
    definitionBody: sfn.DefinitionBody.fromChainable(
      new tasks.CallAwsService(stack, `${id}SendTaskSuccess`, {
        service: 'sfn',
        action: 'sendTaskSuccess',
        parameters: { TaskToken: sfn.JsonPath.stringAt('$.TaskToken'), Output: '{}' },
        // SendTaskSuccess has no resource type in IAM (a task token is not a resource): "*" is the only choice.
        iamAction: 'states:SendTaskSuccess',
        iamResources: ['*'],
      }),
    ),
  });
}

/** `arn:<partition>:states:::states:<api>`: the partition comes from the `${Partition}` substitution. */
function resource(api: string): string {
  return `arn:\${Partition}:states:::states:${api}`;
}

/**
 * The parent's definition in Amazon States Language: one Task state per integration pattern, an Express child run
 * with `.sync:2`, and a Distributed Map (its Map Run starts child workflow executions of the parent itself).
 * `${...}` are definition substitutions, replaced by CloudFormation at deploy time.
 */
const PARENT_DEFINITION = {
  Comment: 'Starts one child state machine per integration pattern, an Express child with .sync:2, and a Map Run',
  StartAt: 'RunSyncChild',
  States: {
    RunSyncChild: {
      Type: 'Task',
      Comment: 'RUN_JOB: start the child and wait for its execution to complete',
      Resource: resource('startExecution.sync:2'),
      Parameters: {
        StateMachineArn: '${SyncChildArn}',
        Input: { 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id', 'input.$': '$' },
      },
      ResultPath: '$.sync',
      Next: 'RunExpressChild',
    },
    RunExpressChild: {
      Type: 'Task',
      Comment:
        'RUN_JOB on an Express child in the same account: the Standard .sync grants, nothing on its express: executions',
      Resource: resource('startExecution.sync:2'),
      Parameters: { StateMachineArn: '${ExpressChildArn}', Input: { 'input.$': '$.sync.Output' } },
      ResultPath: '$.express',
      Next: 'StartAsyncChild',
    },
    StartAsyncChild: {
      Type: 'Task',
      Comment: 'REQUEST_RESPONSE: start the child and move on',
      Resource: resource('startExecution'),
      Parameters: {
        StateMachineArn: '${AsyncChildArn}',
        Input: { 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
      },
      ResultPath: '$.async',
      Next: 'CallbackChild',
    },
    CallbackChild: {
      Type: 'Task',
      Comment: 'WAIT_FOR_TASK_TOKEN: start the child and wait until the token is sent back',
      Resource: resource('startExecution.waitForTaskToken'),
      Parameters: {
        StateMachineArn: '${CallbackChildArn}',
        Input: { 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id', 'TaskToken.$': '$$.Task.Token' },
      },
      TimeoutSeconds: 3600,
      ResultPath: '$.callback',
      Next: 'ListItems',
    },
    ListItems: {
      Type: 'Pass',
      Result: [{ item: 1 }, { item: 2 }],
      ResultPath: '$.items',
      Next: 'ProcessItems',
    },
    ProcessItems: {
      Type: 'Map',
      Comment: 'A Distributed Map: its Map Run "Items" runs each item as a child workflow execution of this parent',
      Label: 'Items',
      ItemsPath: '$.items',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'ProcessItem',
        States: { ProcessItem: { Type: 'Pass', End: true } },
      },
      ResultPath: null,
      End: true,
    },
  },
};

/**
 * Builds the example: an environment-agnostic stack with four child state machines (one per integration pattern,
 * and an Express child run with `.sync:2`) and a parent state machine that starts them and runs a Distributed Map,
 * whose `NestedWorkflowRole` is derived from the parent's definition.
 *
 * @param props app props (e.g. `outdir`); the context always disables creation stack traces
 */
export function buildExampleApp(props: AppProps = {}): ExampleApp {
  const app = new App({
    ...props,
    context: { ...props.context, 'aws:cdk:disable-creation-stack-traces': true },
  });
  const stack = new Stack(app, 'NestedWorkflowExample');

  const syncChild = child(stack, 'SyncChild', 'ExampleSyncChild');
  const expressChild = child(stack, 'ExpressChild', 'ExampleExpressChild', sfn.StateMachineType.EXPRESS);
  const asyncChild = child(stack, 'AsyncChild', 'ExampleAsyncChild');
  const callback = callbackChild(stack, 'CallbackChild', 'ExampleCallbackChild');

  // The role reads the same definition and substitutions as the state machine: one grant per task that starts a child.
  const definitionBody = sfn.DefinitionBody.fromString(JSON.stringify(PARENT_DEFINITION, undefined, 2));
  const definitionSubstitutions = {
    Partition: Aws.PARTITION,
    SyncChildArn: syncChild.stateMachineArn,
    ExpressChildArn: expressChild.stateMachineArn,
    AsyncChildArn: asyncChild.stateMachineArn,
    CallbackChildArn: callback.stateMachineArn,
  };
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
  const parent = new sfn.StateMachine(stack, 'Parent', {
    role: parentRole.role,
    definitionBody,
    definitionSubstitutions,
  });

  return { app, stack, parentRole, parent };
}

/** `ts-node examples/app.ts` (or `cdk synth --app 'npx ts-node examples/app.ts'`): synthesizes the example. */
export function main(): void {
  const outdir = process.env.CDK_OUTDIR ?? path.join(__dirname, '..', 'cdk.out');
  const assembly = buildExampleApp({ outdir }).app.synth();
  process.stdout.write(`Synthesized ${assembly.stacks.map((s) => s.stackName).join(', ')} to ${assembly.directory}\n`);
}

if (require.main === module) {
  main();
}
