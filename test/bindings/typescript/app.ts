/**
 * The smoke app of test/bindings in TypeScript: the same stacks, in the same order and with the same construct ids,
 * as test/bindings/python/app.py, test/bindings/java/src/main/java/smoke/App.java and test/bindings/go/main.go. Its
 * test (smoke.test.ts) checks it against test/bindings/expected.json, the file every binding's app is checked
 * against, so that expected.json is what TypeScript synthesizes.
 */
import * as path from 'path';
import { Acknowledgment, App, Aws, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { NestedWorkflowChecks, NestedWorkflowRole, NestedWorkflowTargetRole } from '../../../lib';

const BINDINGS = path.join(__dirname, '..');
const ENV = { account: '111111111111', region: 'us-east-1' };
const CHILD_ENV = { account: '222222222222', region: 'us-east-1' };
const arn = (name: string, account = ENV.account) => `arn:aws:states:us-east-1:${account}:stateMachine:${name}`;

/** README "Usage": `child` with `integrationPattern`, then `addChild` with options. */
class UsageStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id, { env: ENV });
    const childStateMachine = sfn.StateMachine.fromStateMachineArn(this, 'Child', arn('Worker'));
    const otherChild = sfn.StateMachine.fromStateMachineArn(this, 'OtherChild', arn('Callback'));
    const definitionBody = sfn.DefinitionBody.fromChainable(new sfn.Pass(this, 'Start'));

    const parentRole = new NestedWorkflowRole(this, 'ParentRole', {
      child: childStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    });
    parentRole.addChild(otherChild, { integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN });
    new sfn.StateMachine(this, 'Parent', { role: parentRole.role, definitionBody });

    const acknowledgment: Acknowledgment = {
      id: 'AwsSolutions-IAM5[Resource::arn:aws:states:us-east-1:111111111111:execution:NightlyJob:*]',
      reason: 'Execution names are chosen at run time; the colon keeps other state machines out.',
    };
    Validations.of(parentRole).acknowledge(acknowledgment);
  }
}

/** README "From a definition file": the order pipeline with `definitionSubstitutions`; a dispatcher with `runtimeChildren`. */
class DefinitionStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id, { env: ENV });
    const orderChild = sfn.StateMachine.fromStateMachineArn(this, 'OrderChild', arn('OrderChild'));
    const shippingChild = sfn.StateMachine.fromStateMachineArn(this, 'ShippingChild', arn('ShippingChild'));
    const notifyFunction = lambda.Function.fromFunctionArn(
      this,
      'Notify',
      'arn:aws:lambda:us-east-1:111111111111:function:Notify',
    );

    const definitionBody = sfn.DefinitionBody.fromFile(
      path.join(BINDINGS, '..', 'definitions', 'order-pipeline.asl.json'),
    );
    const definitionSubstitutions = {
      OrderChildArn: orderChild.stateMachineArn,
      ShippingChildArn: shippingChild.stateMachineArn,
      NotifyFunctionArn: notifyFunction.functionArn,
    };
    const parentRole = new NestedWorkflowRole(this, 'ParentRole', { definitionBody, definitionSubstitutions });
    notifyFunction.grantInvoke(parentRole.role);
    new sfn.StateMachine(this, 'Parent', { role: parentRole.role, definitionBody, definitionSubstitutions });

    const childA = sfn.StateMachine.fromStateMachineArn(this, 'ChildA', arn('ReportA'));
    const childB = sfn.StateMachine.fromStateMachineArn(this, 'ChildB', arn('ReportB'));
    const dispatcherBody = sfn.DefinitionBody.fromFile(path.join(BINDINGS, 'dispatcher.asl.json'));
    const dispatcherRole = new NestedWorkflowRole(this, 'DispatcherRole', {
      definitionBody: dispatcherBody,
      runtimeChildren: [{ stateName: 'Start chosen child', children: [childA, childB] }],
    });
    new sfn.StateMachine(this, 'Dispatcher', { role: dispatcherRole.role, definitionBody: dispatcherBody });
  }
}

/** README "Cross-account children": the target role in the child's account, the parent role in the parent's. */
function crossAccount(app: App): void {
  const childAccountStack = new Stack(app, 'ChildAccount', { env: CHILD_ENV });
  const parentAccountStack = new Stack(app, 'ParentAccount', { env: ENV });
  const child = sfn.StateMachine.fromStateMachineArn(childAccountStack, 'Child', arn('OrderChild', CHILD_ENV.account));
  const definitionBody = sfn.DefinitionBody.fromFile(path.join(BINDINGS, 'cross-account-parent.asl.json'));

  new NestedWorkflowTargetRole(childAccountStack, 'ChildStarter', {
    child,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    roleName: 'OrderChildStarter',
    parentRole: iam.Role.fromRoleArn(
      childAccountStack,
      'ParentRole',
      `arn:${Aws.PARTITION}:iam::111111111111:role/OrderParentRole`,
      { mutable: false },
    ),
    parentStateMachine: sfn.StateMachine.fromStateMachineArn(
      childAccountStack,
      'Parent',
      `arn:${Aws.PARTITION}:states:us-east-1:111111111111:stateMachine:OrderParent`,
    ),
  });

  const starterRole = iam.Role.fromRoleArn(
    parentAccountStack,
    'ChildStarter',
    `arn:${Aws.PARTITION}:iam::222222222222:role/OrderChildStarter`,
    { mutable: false },
  );
  const remoteChild = sfn.StateMachine.fromStateMachineArn(
    parentAccountStack,
    'RemoteChild',
    `arn:${Aws.PARTITION}:states:us-east-1:222222222222:stateMachine:OrderChild`,
  );
  const parentRole = new NestedWorkflowRole(parentAccountStack, 'ParentRole', {
    roleName: 'OrderParentRole',
    parentStateMachineName: 'OrderParent',
    child: remoteChild,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    credentials: { role: sfn.TaskRole.fromRole(starterRole) },
  });
  new sfn.StateMachine(parentAccountStack, 'Parent', {
    stateMachineName: 'OrderParent',
    role: parentRole.role,
    definitionBody,
    definitionSubstitutions: { StarterRoleArn: starterRole.roleArn, ChildArn: remoteChild.stateMachineArn },
  });
}

/** The app every binding builds: four stacks and the checks plugin. */
export function buildSmokeApp(outdir: string): App {
  const app = new App({ outdir });
  new UsageStack(app, 'Usage');
  new DefinitionStack(app, 'Definition');
  crossAccount(app);
  // The checks plugin (README "Check an existing app") on every template of the app.
  Validations.of(app).addPlugins(new NestedWorkflowChecks());
  return app;
}

/** The bad input every binding asserts the message of: an activity ARN as `child`. */
export function badChildMessage(): string {
  const stack = new Stack(new App(), 'Bad', { env: ENV });
  try {
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: sfn.StateMachine.fromStateMachineArn(
        stack,
        'Activity',
        'arn:aws:states:us-east-1:111111111111:activity:Worker',
      ),
    });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('an activity ARN as `child` was accepted');
}
