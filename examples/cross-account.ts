import * as path from 'path';
import { App, AppProps, Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole, NestedWorkflowTargetRole } from '../lib';

/** Accounts of the example (placeholders: nothing is deployed). */
export const PARENT_ACCOUNT = '111111111111';
export const CHILD_ACCOUNT = '222222222222';
export const REGION = 'us-east-1';

const PARENT_NAME = 'CrossAccountParent';
const STARTER_ROLE_NAME = 'CrossAccountChildStarter';
const PARENT_ROLE_NAME = 'CrossAccountParentRole';

/**
 * Two stacks in two accounts: the child account holds the child and the `NestedWorkflowTargetRole` the parent
 * assumes; the parent account holds the parent, whose `NestedWorkflowRole` may only assume that role. Names are
 * fixed so that each stack can refer to the other's resources by ARN, without cross-stack references.
 */
export function buildCrossAccountApp(props: AppProps = {}): { app: App; parentStack: Stack; childStack: Stack } {
  const app = new App({ ...props, context: { ...props.context, 'aws:cdk:disable-creation-stack-traces': true } });

  const childStack = new Stack(app, 'NestedWorkflowChildAccount', { env: { account: CHILD_ACCOUNT, region: REGION } });
  const child = new sfn.StateMachine(childStack, 'Child', {
    stateMachineName: 'CrossAccountChild',
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(childStack, 'Work')),
  });
  new NestedWorkflowTargetRole(childStack, 'ChildStarter', {
    child,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    roleName: STARTER_ROLE_NAME,
    parentRole: iam.Role.fromRoleArn(
      childStack,
      'ParentRole',
      `arn:${Aws.PARTITION}:iam::${PARENT_ACCOUNT}:role/${PARENT_ROLE_NAME}`,
      { mutable: false },
    ),
    parentStateMachine: sfn.StateMachine.fromStateMachineArn(
      childStack,
      'Parent',
      `arn:${Aws.PARTITION}:states:${REGION}:${PARENT_ACCOUNT}:stateMachine:${PARENT_NAME}`,
    ),
  });

  const parentStack = new Stack(app, 'NestedWorkflowParentAccount', {
    env: { account: PARENT_ACCOUNT, region: REGION },
  });
  const remoteChild = sfn.StateMachine.fromStateMachineArn(
    parentStack,
    'RemoteChild',
    `arn:${Aws.PARTITION}:states:${REGION}:${CHILD_ACCOUNT}:stateMachine:CrossAccountChild`,
  );
  const starterRole = iam.Role.fromRoleArn(
    parentStack,
    'ChildStarter',
    `arn:${Aws.PARTITION}:iam::${CHILD_ACCOUNT}:role/${STARTER_ROLE_NAME}`,
    { mutable: false },
  );
  const parentRole = new NestedWorkflowRole(parentStack, 'ParentRole', {
    roleName: PARENT_ROLE_NAME,
    parentStateMachineName: PARENT_NAME,
    child: remoteChild,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    credentials: { role: sfn.TaskRole.fromRole(starterRole) },
  });
  new sfn.StateMachine(parentStack, 'Parent', {
    stateMachineName: PARENT_NAME,
    role: parentRole.role,
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'RunRemoteChild',
        States: {
          RunRemoteChild: {
            Type: 'Task',
            Resource: 'arn:${Partition}:states:::states:startExecution.sync:2',
            Credentials: { RoleArn: '${StarterRoleArn}' },
            Parameters: { StateMachineArn: '${ChildArn}', 'Input.$': '$' },
            End: true,
          },
        },
      }),
    ),
    definitionSubstitutions: {
      Partition: Aws.PARTITION,
      StarterRoleArn: starterRole.roleArn,
      ChildArn: remoteChild.stateMachineArn,
    },
  });
  return { app, parentStack, childStack };
}

if (require.main === module) {
  const outdir = process.env.CDK_OUTDIR ?? path.join(__dirname, '..', 'cdk.out');
  const assembly = buildCrossAccountApp({ outdir }).app.synth();
  process.stdout.write(`Synthesized ${assembly.stacks.map((s) => s.stackName).join(', ')} to ${assembly.directory}\n`);
}
