import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Annotations as CoreAnnotations, App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { buildExampleApp } from '../examples/app';
import { buildCrossAccountApp } from '../examples/cross-account';
import { NestedWorkflowRole } from '../lib';
import { ACCOUNT, importedChild, inStackChild, newStack, REGION, stateMachineArn } from './util/fixtures';

/**
 * `cdk synth --strict` fails on any warning: these apps synthesize with no warning and no error.
 */
function messages(stack: Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  return [...annotations.findWarning('*', Match.anyValue()), ...annotations.findError('*', Match.anyValue())].map(
    (m) => `${m.id}: ${String(m.entry.data)}`,
  );
}

function lambdaFunction(stack: Stack): lambda.Function {
  return new lambda.Function(stack, 'Notify', {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
}

describe('cdk synth --strict passes', () => {
  test('a fromChainable parent with a StepFunctionsStartExecution and a LambdaInvoke task', () => {
    const stack = newStack();
    const child = inStackChild(stack, 'Child');
    const chain = new tasks.StepFunctionsStartExecution(stack, 'Run child', {
      stateMachine: child,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    }).next(new tasks.LambdaInvoke(stack, 'Notify task', { lambdaFunction: lambdaFunction(stack) }));
    const definitionBody = sfn.DefinitionBody.fromChainable(chain);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    expect(messages(stack)).toEqual([]);
  });

  test("the README's Usage example: child and addChild, with a definition that starts them that way", () => {
    const stack = newStack();
    const childStateMachine = importedChild(stack, 'Child', stateMachineArn('Child'));
    const otherChild = importedChild(stack, 'Other', stateMachineArn('Other'));
    const task = (resource: string, arn: string, next?: string) => ({
      Type: 'Task',
      Resource: `arn:aws:states:::states:${resource}`,
      Parameters: { StateMachineArn: arn },
      ...(next ? { Next: next } : { End: true }),
    });
    const definitionBody = sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'Run child',
        States: {
          'Run child': task('startExecution.sync:2', stateMachineArn('Child'), 'Start other'),
          'Start other': task('startExecution.waitForTaskToken', stateMachineArn('Other')),
        },
      }),
    );

    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: childStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    });
    parentRole.addChild(otherChild, { integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });

    expect(messages(stack)).toEqual([]);
  });

  test("the README's definition-file example, with the Lambda task's warning acknowledged on the role", () => {
    const stack = newStack();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'strict-')), 'parent.asl.json');
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
    fs.writeFileSync(file, /## From a definition file[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)![1]);
    const notifyFunction = lambdaFunction(stack);
    const definitionBody = sfn.DefinitionBody.fromFile(file);
    const definitionSubstitutions = {
      OrderChildArn: inStackChild(stack, 'OrderChild').stateMachineArn,
      ShippingChildArn: importedChild(stack, 'ShippingChild', stateMachineArn('Shipping')).stateMachineArn,
      NotifyFunctionArn: notifyFunction.functionArn,
    };
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
    notifyFunction.grantInvoke(parentRole.role);
    CoreAnnotations.of(parentRole).acknowledgeWarning(
      'cdk-nested-workflow-role:tasksNotGranted',
      'Notify is granted with notifyFunction.grantInvoke',
    );
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, definitionSubstitutions });
    expect(messages(stack)).toEqual([]);
  });

  test('the example apps', () => {
    const { stack } = buildExampleApp();
    const { parentStack, childStack } = buildCrossAccountApp();
    expect([...messages(stack), ...messages(parentStack), ...messages(childStack)]).toEqual([]);
  });

  test('without the acknowledgement, the definition-file example warns once, naming the Lambda task', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const definitionBody = sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'Notify',
        States: {
          Notify: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Next: 'Run' },
          Run: {
            Type: 'Task',
            Resource: 'arn:aws:states:::states:startExecution',
            Parameters: { StateMachineArn: stateMachineArn('Child') },
            End: true,
          },
        },
      }),
    );
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    expect(messages(stack)).toEqual([
      expect.stringMatching(
        /^\/Stack\/ParentRole\/Resource: .*get no grant from it: 'Notify' \(arn:aws:states:::lambda:invoke\)\..*\[ack: cdk-nested-workflow-role:tasksNotGranted\]$/,
      ),
    ]);
  });
});
