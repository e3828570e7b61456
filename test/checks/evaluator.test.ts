import * as fs from 'fs';
import * as path from 'path';
import { App, ArnFormat, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole } from '../../lib';
import { readParents } from '../../lib/private/checks/engine';
import { Call, decide, globMatch, SourcedPolicy } from '../../lib/private/checks/evaluator';
import { nearMisses } from '../../lib/private/checks/near-misses';
import { JsonObject } from '../../lib/private/model/json';
import { TemplateReader } from '../../lib/private/read/template-reader';
import { ACCOUNT, inStackChild, PARTITION, REGION, stateMachineArn } from '../util/fixtures';
import { rolePolicies, simulate } from '../util/simulator';

const ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };
const CHILD = stateMachineArn('Child');
const EXECUTION = `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:run-1`;
const ADMIN_EXECUTION = `arn:aws:states:${REGION}:${ACCOUNT}:execution:ChildAdmin:run-1`;
const RULE = `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`;

const start: Call = { action: 'states:StartExecution', resource: CHILD };
const startProd: Call = { ...start, context: { 'states:StateMachineQualifier': 'PROD' } };
const describe_: Call = { action: 'states:DescribeExecution', resource: EXECUTION };
const describeAdmin: Call = { action: 'states:DescribeExecution', resource: ADMIN_EXECUTION };
const putRule: Call = { action: 'events:PutRule', resource: RULE };
const deleteRule: Call = { action: 'events:DeleteRule', resource: RULE };

/** Statements and calls where the evaluator must agree with the IAM simulator. */
const CASES: { name: string; statements: JsonObject[]; calls: Call[] }[] = [
  {
    name: 'Resource "*"',
    statements: [{ Effect: 'Allow', Action: 'states:*Execution', Resource: '*' }],
    calls: [start, describe_, describeAdmin],
  },
  {
    name: 'a name-prefix wildcard without the colon',
    statements: [
      {
        Effect: 'Allow',
        Action: ['states:DescribeExecution'],
        Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child*`,
      },
    ],
    calls: [describe_, describeAdmin],
  },
  {
    name: 'the colon keeps <name>Admin out',
    statements: [
      {
        Effect: 'Allow',
        Action: ['states:DescribeExecution'],
        Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:*`,
      },
    ],
    calls: [describe_, describeAdmin],
  },
  {
    name: 'events:*',
    statements: [{ Effect: 'Allow', Action: 'events:*', Resource: RULE }],
    calls: [putRule, deleteRule],
  },
  {
    name: 'action ? wildcard, mixed case',
    statements: [{ Effect: 'Allow', Action: 'EVENTS:Put?ule', Resource: RULE }],
    calls: [putRule, deleteRule],
  },
  {
    name: 'NotAction',
    statements: [{ Effect: 'Allow', NotAction: 'events:DeleteRule', Resource: RULE }],
    calls: [putRule, deleteRule],
  },
  {
    name: 'NotResource',
    statements: [{ Effect: 'Allow', Action: 'states:DescribeExecution', NotResource: ADMIN_EXECUTION }],
    calls: [describe_, describeAdmin],
  },
  {
    name: 'an explicit Deny wins',
    statements: [
      { Effect: 'Allow', Action: 'states:*', Resource: '*' },
      { Effect: 'Deny', Action: 'states:DescribeExecution', Resource: ADMIN_EXECUTION },
    ],
    calls: [describe_, describeAdmin],
  },
  {
    name: 'the alias ARN as resource (aws-cdk-lib) does not cover the call on the unqualified ARN',
    statements: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: `${CHILD}:PROD` }],
    calls: [start, startProd],
  },
  {
    name: 'ForAnyValue:StringEquals on the qualifier',
    statements: [
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: CHILD,
        Condition: { 'ForAnyValue:StringEquals': { 'states:StateMachineQualifier': ['PROD'] } },
      },
    ],
    calls: [start, startProd, { ...start, context: { 'states:StateMachineQualifier': 'DEV' } }],
  },
  {
    name: 'ForAllValues:StringLike on the qualifier',
    statements: [
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: CHILD,
        Condition: { 'ForAllValues:StringLike': { 'states:StateMachineQualifier': ['PR*'] } },
      },
    ],
    calls: [start, startProd, { ...start, context: { 'states:StateMachineQualifier': 'DEV' } }],
  },
  {
    name: 'StringEquals on the multi-valued qualifier key',
    statements: [
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: CHILD,
        Condition: { StringEquals: { 'states:StateMachineQualifier': 'PROD' } },
      },
    ],
    calls: [start, startProd],
  },
  {
    name: 'StringEqualsIfExists on the qualifier',
    statements: [
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: CHILD,
        Condition: { StringEqualsIfExists: { 'states:StateMachineQualifier': 'PROD' } },
      },
    ],
    calls: [start],
  },
];

function sourced(statements: JsonObject[]): SourcedPolicy[] {
  return [{ logicalId: 'Policy', label: 'Policy', document: { Version: '2012-10-17', Statement: statements } }];
}

async function simulated(documents: any[], call: Call): Promise<string> {
  const decision = await simulate(
    { identityPolicies: documents, trustPolicy: undefined, policyResourceCount: 1 },
    call,
    ENV,
  );
  return decision === 'Allowed' ? 'Allowed' : 'Denied';
}

const simple = (decision: string) =>
  decision === 'Allowed' ? 'Allowed' : decision === 'Undecidable' ? decision : 'Denied';

describe('the checks evaluator agrees with the IAM simulator', () => {
  test.each(CASES)('$name', async ({ statements, calls }) => {
    for (const call of calls) {
      const ours = simple(decide(sourced(statements), call).decision);
      const theirs = await simulated([{ Version: '2012-10-17', Statement: statements }], call);
      expect(`${call.action} ${call.resource} ${JSON.stringify(call.context)}: ${ours}`).toBe(
        `${call.action} ${call.resource} ${JSON.stringify(call.context)}: ${theirs}`,
      );
    }
  });

  test('on the roles of NestedWorkflowRole, StepFunctionsStartExecution, a hand-written L1 and the AWS docs template: every call and near miss', async () => {
    const app = new App({ context: { 'aws:cdk:disable-creation-stack-traces': true } });
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });
    const alias = sfn.StateMachine.fromStateMachineArn(stack, 'Alias', `${stateMachineArn('Aliased')}:PROD`);
    const chain = () =>
      new tasks.StepFunctionsStartExecution(stack, `Run${stack.node.children.length}`, {
        stateMachine: child,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      }).next(
        new tasks.StepFunctionsStartExecution(stack, `Alias${stack.node.children.length}`, { stateMachine: alias }),
      );
    const definitionBody = sfn.DefinitionBody.fromChainable(chain());
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'LibraryParent', { role: parentRole.role, definitionBody });
    new sfn.StateMachine(stack, 'TaskParent', { definitionBody: sfn.DefinitionBody.fromChainable(chain()) });
    const handWritten = new iam.Role(stack, 'HandWrittenRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      inlinePolicies: {
        Start: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [child.stateMachineArn] }),
          ],
        }),
      },
    });
    new sfn.CfnStateMachine(stack, 'HandWrittenParent', {
      roleArn: handWritten.roleArn,
      definitionString: JSON.stringify({
        StartAt: 'Run',
        States: {
          Run: {
            Type: 'Task',
            Resource: 'arn:aws:states:::states:startExecution.sync',
            Parameters: { StateMachineArn: child.stateMachineArn },
            End: true,
          },
        },
      }),
    });
    const template = Template.fromStack(stack).toJSON();
    const docs = JSON.parse(
      fs.readFileSync(path.join(__dirname, '..', 'templates', 'aws-docs-parent.template.json'), 'utf-8'),
    );

    let compared = 0;
    for (const t of [template, docs]) {
      const reader = new TemplateReader(t, ENV);
      const parents = readParents(reader);
      expect(parents.length).toBeGreaterThan(0);
      for (const parent of parents) {
        const documents = rolePolicies(t, parent.role!, ENV).identityPolicies;
        for (const call of [...parent.calls, ...parent.calls.flatMap(nearMisses)]) {
          const ours = simple(decide(parent.policies, call).decision);
          const theirs = await simulated(documents, call);
          expect(`${parent.logicalId} ${call.action} ${call.resource} ${JSON.stringify(call.context)}: ${ours}`).toBe(
            `${parent.logicalId} ${call.action} ${call.resource} ${JSON.stringify(call.context)}: ${theirs}`,
          );
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(60);
  });
});

describe('the checks evaluator agrees with the IAM simulator on Map Runs and Express .sync children', () => {
  test("on aws-cdk-lib's DistributedMapPolicy, NestedWorkflowRole's Map Run policy and a hand-written too broad role: every call and near miss", async () => {
    const app = new App({ context: { 'aws:cdk:disable-creation-stack-traces': true } });
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });
    const item = inStackChild(stack, 'ItemChild', {
      stateMachineName: 'ItemChild',
      stateMachineType: sfn.StateMachineType.EXPRESS,
    });
    // aws-cdk-lib only: sfn.DistributedMap and StepFunctionsStartExecution.
    const map = new sfn.DistributedMap(stack, 'Process items', { label: 'Items', itemsPath: '$.items' });
    map.itemProcessor(
      new tasks.StepFunctionsStartExecution(stack, 'Start item', {
        stateMachine: child,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      }),
    );
    new sfn.StateMachine(stack, 'TaskParent', {
      stateMachineName: 'TaskParent',
      definitionBody: sfn.DefinitionBody.fromChainable(map),
    });
    // NestedWorkflowRole: a labelled Distributed Map whose items start an Express child with .sync:2.
    const definitionBody = sfn.DefinitionBody.fromString(
      fs.readFileSync(path.join(__dirname, '..', 'definitions', 'distributed-map.asl.json'), 'utf-8'),
    );
    const definitionSubstitutions = {
      ReportChildArn: child.stateMachineArn,
      ItemChildArn: item.stateMachineArn,
      Bucket: 'orders-bucket',
    };
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
    new sfn.StateMachine(stack, 'LibraryParent', {
      stateMachineName: 'LibraryParent',
      role: parentRole.role,
      definitionBody,
      definitionSubstitutions,
    });
    // Hand-written: prefixes where the parent, its labels and the Express child need exact ARNs.
    const arn = (rest: string) =>
      stack.formatArn({ service: 'states', resource: rest, arnFormat: ArnFormat.NO_RESOURCE_NAME });
    const handWritten = new iam.Role(stack, 'HandWrittenRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      inlinePolicies: {
        Broad: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['states:StartExecution'],
              resources: [arn('stateMachine:Hand*'), item.stateMachineArn],
            }),
            new iam.PolicyStatement({
              actions: ['states:DescribeExecution', 'states:StopExecution'],
              resources: [arn('execution:Hand*'), arn('execution:ItemChild:*'), arn('express:ItemChild*')],
            }),
            new iam.PolicyStatement({ actions: ['states:RedriveExecution'], resources: [arn('execution:Hand/*:*')] }),
          ],
        }),
      },
    });
    new sfn.CfnStateMachine(stack, 'HandWrittenParent', {
      stateMachineName: 'Hand',
      roleArn: handWritten.roleArn,
      definitionString: JSON.stringify({
        StartAt: 'Process items',
        States: {
          'Process items': {
            Type: 'Map',
            Label: 'Items',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'Start item',
              States: {
                'Start item': {
                  Type: 'Task',
                  Resource: 'arn:aws:states:::states:startExecution.sync:2',
                  Parameters: { StateMachineArn: '${ItemChildArn}' },
                  End: true,
                },
              },
            },
            End: true,
          },
        },
      }),
      definitionSubstitutions: { ItemChildArn: item.stateMachineArn },
    });
    const template = Template.fromStack(stack).toJSON();

    const compared: string[] = [];
    const parents = readParents(new TemplateReader(template, ENV));
    expect(parents.map((p) => p.logicalId).sort()).toEqual(
      ['HandWrittenParent', 'LibraryParent', 'TaskParent'].map((id) => expect.stringMatching(new RegExp(`^${id}`))),
    );
    for (const parent of parents) {
      const documents = rolePolicies(template, parent.role!, ENV).identityPolicies;
      for (const call of [...parent.calls, ...parent.calls.flatMap(nearMisses)]) {
        const ours = simple(decide(parent.policies, call).decision);
        const theirs = await simulated(documents, call);
        expect(`${parent.logicalId} ${call.action} ${call.resource} ${JSON.stringify(call.context)}: ${ours}`).toBe(
          `${parent.logicalId} ${call.action} ${call.resource} ${JSON.stringify(call.context)}: ${theirs}`,
        );
        compared.push(`${ours} ${call.action} ${call.resource}`);
      }
    }
    // The new calls were compared, allowed and denied.
    expect(compared).toEqual(
      expect.arrayContaining([
        `Allowed states:RedriveExecution ${executionArnOf('LibraryParent/Orders:example-execution-id')}`,
        `Denied states:RedriveExecution ${executionArnOf('LibraryParent/OrdersOther:example-execution-id')}`,
        `Allowed states:RedriveExecution ${executionArnOf('Hand/ItemsOther:example-execution-id')}`,
        `Allowed states:StartExecution ${stateMachineArn('HandAdmin')}`,
        `Denied states:StartExecution ${stateMachineArn('TaskParentAdmin')}`,
        `Denied states:StartExecution ${stateMachineArn('OtherStateMachine')}`,
        `Denied states:RedriveExecution ${executionArnOf('TaskParent/ItemsOther:example-execution-id')}`,
        // The Express executions of a .sync child are a near miss: allowed by the hand-written express:ItemChild*.
        `Allowed states:DescribeExecution arn:aws:states:${REGION}:${ACCOUNT}:express:ItemChild:example-execution-id:example-express-id`,
        `Denied states:DescribeExecution arn:aws:states:${REGION}:${ACCOUNT}:express:ItemChild:example-execution-id:example-express-id`,
      ]),
    );
    expect(compared.length).toBeGreaterThan(60);
  });
});

const executionArnOf = (rest: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${rest}`;

describe('the checks evaluator', () => {
  test('a statement whose resource is not known at synthesis may allow the call: undecidable, never guessed', () => {
    const policies = sourced([
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: 'arn:aws:states:us-east-1:111111111111:stateMachine:⟨Parameter.Name⟩',
      },
    ]);
    expect(decide(policies, start).decision).toBe('Undecidable');
    expect(decide(policies, { ...start, resource: start.resource.replace(':states:', ':lambda:') }).decision).toBe(
      'ImplicitlyDenied',
    );
  });

  test('a call in an unknown account is decided only when every account the policies name gives the same answer', () => {
    const call = {
      action: 'states:StartExecution',
      resource: 'arn:aws:states:us-east-1:⟨AccountId⟩:stateMachine:Child',
    };
    const literal = sourced([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: CHILD }]);
    expect(decide(literal, call).decision).toBe('Undecidable');
    const symbolic = sourced([
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: 'arn:aws:states:us-east-1:⟨AccountId⟩:stateMachine:*',
      },
    ]);
    expect(decide(symbolic, call).decision).toBe('Allowed');
    // A policy built from the stack's account, a child named by its literal account: it depends on the account.
    expect(decide(symbolic, start).decision).toBe('Undecidable');
    expect(decide(symbolic, { ...start, resource: start.resource.replace(':states:', ':lambda:') }).decision).toBe(
      'ImplicitlyDenied',
    );
  });

  test('policy variables and unknown condition operators are undecidable', () => {
    expect(globMatch('arn:aws:iam::111111111111:role/${aws:username}', 'arn:aws:iam::111111111111:role/x')).toBe(
      'maybe',
    );
    const policies = sourced([
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: CHILD,
        Condition: { StringNotEquals: { 'states:StateMachineQualifier': 'DEV' } },
      },
    ]);
    expect(decide(policies, startProd).decision).toBe('Undecidable');
  });

  test('a Deny that may apply makes an allowed call undecidable', () => {
    const policies = sourced([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: CHILD },
      {
        Effect: 'Deny',
        Action: 'states:StartExecution',
        Resource: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
    expect(decide(policies, start)).toMatchObject({
      decision: 'Undecidable',
      reasons: ['a condition on aws:SecureTransport (Bool) is not evaluated'],
    });
  });
});
