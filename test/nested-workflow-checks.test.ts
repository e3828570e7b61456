import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole } from '../lib';
import { cleanUp, newCheckedApp, runChecks, summarize } from './util/checks';
import { ACCOUNT, inStackChild, REGION, stateMachineArn } from './util/fixtures';

const PARENT_FILE = path.join(__dirname, 'definitions', 'parent.asl.json');

/** The substitutions of parent.asl.json: four children of the stack's account and a Lambda function. */
function parentSubstitutions(): { [key: string]: string } {
  return {
    SyncChildArn: stateMachineArn('SyncChild'),
    RequestChildArn: stateMachineArn('RequestChild'),
    CallbackChildArn: stateMachineArn('CallbackChild'),
    JsonataChildArn: stateMachineArn('JsonataChild'),
    NotifyFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Notify`,
  };
}

/** A hand-written L1 parent: a `.sync` child, and a policy with StartExecution and the events grant only. */
function handWrittenParent(stack: Stack, child: sfn.IStateMachine) {
  const role = new iam.CfnRole(stack, 'HandWrittenRole', {
    assumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    },
    policies: [
      {
        policyName: 'StartChild',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'states:StartExecution', Resource: child.stateMachineArn },
            {
              Effect: 'Allow',
              Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
              Resource: stack.formatArn({
                service: 'events',
                resource: 'rule',
                resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
              }),
            },
          ],
        },
      },
    ],
  });
  return new sfn.CfnStateMachine(stack, 'HandWrittenParent', {
    roleArn: role.attrArn,
    definitionString: JSON.stringify({
      StartAt: 'Run child',
      States: {
        'Run child': {
          Type: 'Task',
          Resource: 'arn:${AWS::Partition}:states:::states:startExecution.sync:2',
          Parameters: { StateMachineArn: '${ChildArn}' },
          End: true,
        },
      },
    }),
    definitionSubstitutions: { ChildArn: child.stateMachineArn, 'AWS::Partition': stack.partition },
  });
}

describe('NestedWorkflowChecks', () => {
  test('on a mixed app: nothing for NestedWorkflowRole, too broad for StepFunctionsStartExecution, missing for the hand-written policy', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });

    const definitionBody = sfn.DefinitionBody.fromFile(PARENT_FILE);
    const definitionSubstitutions = parentSubstitutions();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
    new sfn.StateMachine(stack, 'LibraryParent', { role: parentRole.role, definitionBody, definitionSubstitutions });

    new sfn.StateMachine(stack, 'TaskParent', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Run', {
          stateMachine: child,
          integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        }),
      ),
    });
    handWrittenParent(stack, child);

    const run = runChecks(app);
    try {
      expect(summarize(run.violations)).toEqual([
        'NWR1: Stack/HandWrittenParent',
        'NWR2: Stack/TaskParent/Resource',
        'NWR2: Stack/TaskParent/Role/DefaultPolicy/Resource',
      ]);
      expect(run.violations.find((v) => v.ruleName === 'NWR1')!.description).toContain(
        'states:DescribeExecution on arn:aws:states:us-east-1:111111111111:execution:Child:example-execution-id',
      );
      expect(run.violations.find((v) => v.ruleName === 'NWR2')!.description).toContain('execution:ChildAdmin:');
      expect(run.success).toBe(false);
    } finally {
      cleanUp(run);
    }
  });
});
