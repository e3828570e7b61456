import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export const ACCOUNT = '111111111111';
export const OTHER_ACCOUNT = '222222222222';
export const REGION = 'us-east-1';
export const OTHER_REGION = 'eu-west-1';
export const PARTITION = 'aws';

/** A literal state machine ARN in the test account and region, built without an `arn:aws` literal in the code. */
export function stateMachineArn(name: string, opts: { account?: string; region?: string; partition?: string } = {}) {
  return [
    'arn',
    opts.partition ?? PARTITION,
    'states',
    opts.region ?? REGION,
    opts.account ?? ACCOUNT,
    'stateMachine',
    name,
  ].join(':');
}

export function executionArn(name: string, execution: string, opts: { account?: string; region?: string } = {}) {
  return [
    'arn',
    PARTITION,
    'states',
    opts.region ?? REGION,
    opts.account ?? ACCOUNT,
    'execution',
    name,
    execution,
  ].join(':');
}

export function ruleArn(name: string, opts: { account?: string; region?: string } = {}) {
  return `arn:${PARTITION}:events:${opts.region ?? REGION}:${opts.account ?? ACCOUNT}:rule/${name}`;
}

export const MANAGED_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

/** A stack in a known environment (or environment-agnostic with `agnostic: true`). */
export function newStack(opts: { agnostic?: boolean; props?: StackProps } = {}): Stack {
  const app = new App({ context: { 'aws:cdk:disable-creation-stack-traces': true } });
  return new Stack(
    app,
    'Stack',
    opts.agnostic ? opts.props : { env: { account: ACCOUNT, region: REGION }, ...opts.props },
  );
}

/** A trivial state machine defined in the stack. */
export function inStackChild(
  scope: Construct,
  id: string,
  props: Partial<sfn.StateMachineProps> = {},
): sfn.StateMachine {
  return new sfn.StateMachine(scope, id, {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(scope, `${id}Pass`)),
    ...props,
  });
}

/** A child imported by a literal ARN. */
export function importedChild(scope: Construct, id: string, arn: string): sfn.IStateMachine {
  return sfn.StateMachine.fromStateMachineArn(scope, id, arn);
}

/** Every `AWS::IAM::Policy`/`AWS::IAM::ManagedPolicy` document of the template, by logical id. */
export function policyDocuments(template: Template): { [logicalId: string]: any } {
  const out: { [logicalId: string]: any } = {};
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, resource] of Object.entries(template.findResources(type))) {
      out[id] = (resource as any).Properties.PolicyDocument;
    }
  }
  return out;
}

/** The `events` statement a synchronous child needs, in the stack's region and account. */
export function eventsStatement(region: any = REGION, account: any = ACCOUNT) {
  return {
    Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
    Effect: 'Allow',
    Resource: {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:events:${region}:${account}:rule/${MANAGED_RULE}`]],
    },
  };
}

/** The N of a "the first N children fit" error, or undefined if `stack` synthesizes. */
export function firstFit(stack: Stack): number | undefined {
  try {
    Template.fromStack(stack);
    return undefined;
  } catch (e) {
    const match = /the first (\d+) children fit/.exec((e as Error).message);
    if (!match) throw e;
    return Number(match[1]);
  }
}
