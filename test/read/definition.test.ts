import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Aws, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole } from '../../lib';
import {
  ACCOUNT,
  eventsStatement,
  importedChild,
  inStackChild,
  newStack,
  OTHER_ACCOUNT,
  PARTITION,
  policyDocuments,
  REGION,
  stateMachineArn,
} from '../util/fixtures';
import { ChildScenario, ProbeCase, probesFor } from '../util/probes';
import { ResolveEnv } from '../util/resolve';
import { RolePolicies, failedProbes as simulatedFailures, parentRolePolicies } from '../util/simulator';

const PARENT = { partition: PARTITION, region: REGION, account: ACCOUNT };
const PARENT_ASL = path.join(__dirname, '..', 'definitions', 'parent.asl.json');
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Notify`;

/** The children of `definitions/parent.asl.json`, and how its states start them. */
const CHILDREN: ChildScenario[] = [
  { ...PARENT, name: 'SyncChild', pattern: 'RUN_JOB' }, // top level, .sync:2
  { ...PARENT, name: 'RequestChild', pattern: 'REQUEST_RESPONSE' }, // in a Parallel branch
  { ...PARENT, name: 'CallbackChild', pattern: 'WAIT_FOR_TASK_TOKEN' }, // in a Map's item processor
  { ...PARENT, name: 'JsonataChild', pattern: 'RUN_JOB' }, // JSONata, .sync
];

/** The substitutions of `parent.asl.json`: a state machine of the stack (a token), a name, literal ARNs. */
function substitutions(stack: Stack): { [key: string]: string } {
  return {
    SyncChildArn: inStackChild(stack, 'SyncChild', { stateMachineName: 'SyncChild' }).stateMachineArn,
    RequestChildArn: stateMachineArn('RequestChild'),
    CallbackChildArn: sfn.StateMachine.fromStateMachineName(stack, 'CallbackChild', 'CallbackChild').stateMachineArn,
    JsonataChildArn: stateMachineArn('JsonataChild'),
    NotifyFunctionArn: FUNCTION_ARN,
  };
}

/** The same parent as `parent.asl.json`, built from aws-cdk-lib task constructs. */
function chainParent(stack: Stack): sfn.IChainable {
  const start = (id: string, stateMachine: sfn.IStateMachine, integrationPattern: sfn.IntegrationPattern) =>
    new tasks.StepFunctionsStartExecution(stack, id, {
      stateMachine,
      integrationPattern,
      input:
        integrationPattern === sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN
          ? sfn.TaskInput.fromObject({ TaskToken: sfn.JsonPath.taskToken })
          : undefined,
    });
  const sync = inStackChild(stack, 'SyncChild', { stateMachineName: 'SyncChild' });
  return start('Run sync child', sync, sfn.IntegrationPattern.RUN_JOB)
    .next(
      new sfn.Parallel(stack, 'Fan out').branch(
        start(
          'Start request child',
          importedChild(stack, 'RequestChild', stateMachineArn('RequestChild')),
          sfn.IntegrationPattern.REQUEST_RESPONSE,
        ),
      ),
    )
    .next(
      new sfn.Map(stack, 'For each item', { itemsPath: '$.items' }).itemProcessor(
        start(
          'Start callback child',
          sfn.StateMachine.fromStateMachineName(stack, 'CallbackChild', 'CallbackChild'),
          sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        ),
      ),
    )
    .next(
      tasks.StepFunctionsStartExecution.jsonata(stack, 'Run JSONata child', {
        stateMachine: importedChild(stack, 'JsonataChild', stateMachineArn('JsonataChild')),
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      }),
    )
    .next(
      new tasks.LambdaInvoke(stack, 'Notify', {
        lambdaFunction: lambda.Function.fromFunctionArn(stack, 'NotifyFunction', FUNCTION_ARN),
      }),
    );
}

type Source = 'fromFile' | 'fromString' | 'fromChainable';

/** GIVEN the parent of `parent.asl.json` from `source`, WHEN its role and state machine are created in the natural order. */
function parentStack(source: Source): Stack {
  const stack = newStack();
  let definitionBody: sfn.DefinitionBody;
  let definitionSubstitutions: { [key: string]: string } | undefined;
  if (source === 'fromChainable') {
    definitionBody = sfn.DefinitionBody.fromChainable(chainParent(stack));
  } else {
    definitionBody =
      source === 'fromFile'
        ? sfn.DefinitionBody.fromFile(PARENT_ASL)
        : sfn.DefinitionBody.fromString(fs.readFileSync(PARENT_ASL, 'utf-8'));
    definitionSubstitutions = substitutions(stack);
  }
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
  new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, definitionSubstitutions });
  return stack;
}

function parentPolicies(stack: Stack, env: ResolveEnv = PARENT): RolePolicies {
  return parentRolePolicies(Template.fromStack(stack).toJSON(), env);
}

/** The probes that fail on `policies`, in the parent's environment unless `env` says otherwise. */
const failedProbes = (policies: RolePolicies, probes: ProbeCase[], env: ResolveEnv = PARENT) =>
  simulatedFailures(policies, probes, env);

/** Every child's probes; the managed rule is shared, so its probes apply to the synchronous children only. */
function childProbes(children: ChildScenario[]): ProbeCase[] {
  return children.flatMap((c) =>
    probesFor(c, PARENT).filter((p) => !p.action.startsWith('events:') || c.pattern === 'RUN_JOB'),
  );
}

const invokeNotify: ProbeCase = {
  label: 'lambda:InvokeFunction on Notify',
  action: 'lambda:InvokeFunction',
  resource: FUNCTION_ARN,
  expect: 'Denied',
  needed: false,
};

/** A stack whose role reads `definition` (an ASL object) from a string, and the parent state machine that uses it. */
function roleFromAsl(
  definition: object,
  definitionSubstitutions?: { [key: string]: string },
  stack: Stack = newStack(),
): { stack: Stack; parentRole: NestedWorkflowRole } {
  const definitionBody = sfn.DefinitionBody.fromString(JSON.stringify(definition));
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
  new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, definitionSubstitutions });
  return { stack, parentRole };
}

/** One Task state starting `arn` through `resource`, in a JSONPath definition. */
function oneTask(resource: string, parameters: object, extra: object = {}): object {
  return {
    StartAt: 'Start child',
    States: { 'Start child': { Type: 'Task', Resource: resource, Parameters: parameters, End: true, ...extra } },
  };
}

const START = 'arn:aws:states:::states:startExecution';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
const START_SYNC = `${START}.sync`;

describe('the issue scenario: sync at the top, request-response in a Parallel, callback in a Map, JSONata sync, a Lambda', () => {
  test.each<Source>(['fromFile', 'fromString', 'fromChainable'])(
    '%s: every call Step Functions makes for the four children is Allowed, near misses are Denied',
    async (source) => {
      const policies = parentPolicies(parentStack(source));
      expect(await failedProbes(policies, childProbes(CHILDREN))).toEqual([]);
    },
  );

  test.each<Source>(['fromFile', 'fromString'])('%s: the Lambda task gets no grant from the role', async (source) => {
    const policies = parentPolicies(parentStack(source));
    expect(await failedProbes(policies, [invokeNotify])).toEqual([]);
  });

  test("fromChainable: the LambdaInvoke task's own grant still reaches the role", async () => {
    const policies = parentPolicies(parentStack('fromChainable'));
    expect(await failedProbes(policies, [{ ...invokeNotify, expect: 'Allowed' }])).toEqual([]);
  });

  test('fromFile: the role holds exactly one statement per kind of grant', () => {
    const template = Template.fromStack(parentStack('fromFile'));
    expect(Object.values(policyDocuments(template))).toEqual([
      {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'states:StartExecution',
            Effect: 'Allow',
            Resource: [
              { Ref: expect.stringMatching(/^SyncChild/) },
              stateMachineArn('RequestChild'),
              stateMachineArn('CallbackChild'),
              stateMachineArn('JsonataChild'),
            ],
          },
          {
            Action: ['states:DescribeExecution', 'states:StopExecution'],
            Effect: 'Allow',
            Resource: [
              `arn:aws:states:${REGION}:${ACCOUNT}:execution:SyncChild:*`,
              `arn:aws:states:${REGION}:${ACCOUNT}:execution:JsonataChild:*`,
            ],
          },
          eventsStatement(),
        ],
      },
    ]);
  });

  test("fromChainable: no StepFunctionsStartExecution statement lands in the role's default policy", () => {
    const template = Template.fromStack(parentStack('fromChainable'));
    const documents = policyDocuments(template);
    const defaultPolicy = Object.entries(documents).find(([id]) => id.startsWith('ParentRoleDefaultPolicy'))?.[1];
    expect(defaultPolicy.Statement).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: [FUNCTION_ARN, `${FUNCTION_ARN}:*`],
      },
    ]);
    const actions = Object.values(documents).flatMap((d: any) => d.Statement.flatMap((s: any) => [s.Action].flat()));
    expect(actions.filter((a: string) => a.startsWith('states:')).sort()).toEqual([
      'states:DescribeExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
  });

  test('one warning lists the tasks that are not nested workflows', () => {
    const stack = parentStack('fromFile');
    const warnings = Annotations.fromStack(stack).findWarning('/Stack/ParentRole/Resource', Match.anyValue());
    expect(warnings).toHaveLength(1);
    expect(warnings[0].entry.data).toMatch(
      /grants only nested workflows; these tasks of the definition get no grant from it: 'Notify' \(arn:aws:states:::lambda:invoke\)\. Grant them with/,
    );
  });
});

describe('reading definitions', () => {
  test('finds tasks in nested Parallel branches, a Map Iterator and a distributed Map', async () => {
    const task = (name: string, resource = START) => ({
      Type: 'Task',
      Resource: resource,
      Parameters: { StateMachineArn: stateMachineArn(name) },
      End: true,
    });
    const stack = newStack();
    const definitionBody = sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'Outer',
        States: {
          Outer: {
            Type: 'Parallel',
            Branches: [
              {
                StartAt: 'Inner',
                States: {
                  Inner: {
                    Type: 'Parallel',
                    Branches: [{ StartAt: 'Deep', States: { Deep: task('Deep', START_SYNC) } }],
                    End: true,
                  },
                },
              },
            ],
            Next: 'Legacy map',
          },
          'Legacy map': {
            Type: 'Map',
            Iterator: { StartAt: 'In iterator', States: { 'In iterator': task('Iterated') } },
            Next: 'Distributed',
          },
          Distributed: {
            Type: 'Map',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'In distributed map',
              States: { 'In distributed map': task('Distributed', `${START}.waitForTaskToken`) },
            },
            End: true,
          },
        },
      }),
    );
    // The distributed Map runs child workflow executions of the parent itself: name it.
    new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, parentStateMachineName: 'Parent' });
    const children: ChildScenario[] = [
      { ...PARENT, name: 'Deep', pattern: 'RUN_JOB' },
      { ...PARENT, name: 'Iterated', pattern: 'REQUEST_RESPONSE' },
      { ...PARENT, name: 'Distributed', pattern: 'WAIT_FOR_TASK_TOKEN' },
    ];
    expect(await failedProbes(parentPolicies(stack), childProbes(children))).toEqual([]);
  });

  test('a JSONata definition (top-level QueryLanguage) reads Arguments.StateMachineArn', async () => {
    const { stack } = roleFromAsl({
      QueryLanguage: 'JSONata',
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync:2',
          Arguments: { StateMachineArn: stateMachineArn('Worker'), Input: '{% $states.input %}' },
          End: true,
        },
      },
    });
    expect(
      await failedProbes(parentPolicies(stack), probesFor({ ...PARENT, name: 'Worker', pattern: 'RUN_JOB' }, PARENT)),
    ).toEqual([]);
  });

  test('substitutions with CloudFormation parameters and imports, in an environment-agnostic stack', async () => {
    const stack = newStack({ agnostic: true });
    const definition = {
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Resource: START_SYNC, Parameters: { StateMachineArn: '${FromParameter}' }, Next: 'B' },
        B: { Type: 'Task', Resource: START, Parameters: { StateMachineArn: '${FromImport}' }, Next: 'C' },
        C: {
          Type: 'Task',
          Resource: START_SYNC,
          Parameters: { StateMachineArn: 'arn:${Partition}:states:${Region}:${Account}:stateMachine:Pieces' },
          End: true,
        },
      },
    };
    roleFromAsl(
      definition,
      {
        FromParameter: new CfnParameter(stack, 'ChildArn').valueAsString,
        FromImport: Fn.importValue('OtherChildArn'),
        Partition: Aws.PARTITION,
        Region: Aws.REGION,
        Account: Aws.ACCOUNT_ID,
      },
      stack,
    );
    const env: ResolveEnv = {
      ...PARENT,
      parameters: { ChildArn: stateMachineArn('Parameterized') },
      imports: { OtherChildArn: stateMachineArn('Imported') },
    };
    const children: ChildScenario[] = [
      { ...PARENT, name: 'Parameterized', pattern: 'RUN_JOB' },
      { ...PARENT, name: 'Imported', pattern: 'REQUEST_RESPONSE' },
      { ...PARENT, name: 'Pieces', pattern: 'RUN_JOB' },
    ];
    expect(await failedProbes(parentPolicies(stack, env), childProbes(children), env)).toEqual([]);
  });

  test('an alias ARN in the definition grants only that alias', async () => {
    const { stack } = roleFromAsl(oneTask(START_SYNC, { StateMachineArn: `${stateMachineArn('Worker')}:PROD` }));
    const probes = probesFor({ ...PARENT, name: 'Worker', pattern: 'RUN_JOB', qualifier: 'PROD' }, PARENT);
    expect(await failedProbes(parentPolicies(stack), probes)).toEqual([]);
  });

  test('aws-sdk:sfn:startSyncExecution grants only StartSyncExecution on the Express child', () => {
    const stack = newStack();
    const express = inStackChild(stack, 'Express', {
      stateMachineName: 'Express',
      stateMachineType: sfn.StateMachineType.EXPRESS,
    });
    roleFromAsl(
      oneTask('arn:aws:states:::aws-sdk:sfn:startSyncExecution', { StateMachineArn: '${Express}' }),
      { Express: express.stateMachineArn },
      stack,
    );
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowPolicy',
      PolicyDocument: {
        Statement: [{ Action: 'states:StartSyncExecution', Effect: 'Allow', Resource: { Ref: Match.anyValue() } }],
      },
    });
  });

  test('aws-sdk:sfn:startSyncExecution on an imported child treats it as Express', () => {
    const { stack } = roleFromAsl(
      oneTask('arn:aws:states:::aws-sdk:sfn:startSyncExecution', { StateMachineArn: stateMachineArn('Fast') }),
    );
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowPolicy',
      PolicyDocument: {
        Statement: [{ Action: 'states:StartSyncExecution', Effect: 'Allow', Resource: stateMachineArn('Fast') }],
      },
    });
  });

  test('Credentials.RoleArn: the parent gets only sts:AssumeRole on that role', () => {
    const targetRole = `arn:aws:iam::${OTHER_ACCOUNT}:role/Starter`;
    const { stack } = roleFromAsl(
      oneTask(
        START_SYNC,
        { StateMachineArn: stateMachineArn('Worker', { account: OTHER_ACCOUNT }) },
        { Credentials: { RoleArn: '${StarterRole}' } },
      ),
      { StarterRole: targetRole },
    );
    expect(Object.values(policyDocuments(Template.fromStack(stack)))).toEqual([
      {
        Version: '2012-10-17',
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Resource: targetRole }],
      },
    ]);
  });

  test('runtimeChildren: a state that takes its ARN from the input grants each declared child its pattern', async () => {
    const stack = newStack();
    const definitionBody = sfn.DefinitionBody.fromString(
      JSON.stringify(oneTask(START_SYNC, { 'StateMachineArn.$': '$.childArn' })),
    );
    new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody,
      runtimeChildren: [
        {
          stateName: 'Start child',
          children: [
            importedChild(stack, 'A', stateMachineArn('ChildA')),
            importedChild(stack, 'B', stateMachineArn('ChildB')),
          ],
        },
      ],
    });
    const children: ChildScenario[] = [
      { ...PARENT, name: 'ChildA', pattern: 'RUN_JOB' },
      { ...PARENT, name: 'ChildB', pattern: 'RUN_JOB' },
    ];
    expect(await failedProbes(parentPolicies(stack), childProbes(children))).toEqual([]);
  });

  test('addDefinition after the constructor, with a child: the union of both', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Direct', stateMachineArn('Direct')),
    });
    parentRole.addDefinition(
      sfn.DefinitionBody.fromString(JSON.stringify(oneTask(START_SYNC, { StateMachineArn: '${Child}' }))),
      { Child: stateMachineArn('FromDefinition') },
    );
    const children: ChildScenario[] = [
      { ...PARENT, name: 'Direct', pattern: 'REQUEST_RESPONSE' },
      { ...PARENT, name: 'FromDefinition', pattern: 'RUN_JOB' },
    ];
    expect(await failedProbes(parentPolicies(stack), childProbes(children))).toEqual([]);
  });

  test('fromChainable with credentials: the task adds no second sts:AssumeRole and no states grant', () => {
    const stack = newStack();
    const starter = iam.Role.fromRoleArn(stack, 'Starter', `arn:aws:iam::${OTHER_ACCOUNT}:role/Starter`);
    const task = new tasks.StepFunctionsStartExecution(stack, 'Start', {
      stateMachine: importedChild(stack, 'Child', stateMachineArn('Worker', { account: OTHER_ACCOUNT })),
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      credentials: { role: sfn.TaskRole.fromRole(starter) },
    });
    const definitionBody = sfn.DefinitionBody.fromChainable(task);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    expect(Object.values(policyDocuments(Template.fromStack(stack)))).toEqual([
      {
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Resource: `arn:aws:iam::${OTHER_ACCOUNT}:role/Starter` },
        ],
      },
    ]);
  });

  test.each([
    ["'single quotes'", "{% '${Worker}' %}"],
    ['"double quotes"', '{% "${Worker}" %}'],
  ])('a constant JSONata string literal in %s is the child itself', async (_what, expression) => {
    const { stack } = roleFromAsl(
      {
        QueryLanguage: 'JSONata',
        StartAt: 'Run',
        States: { Run: { Type: 'Task', Resource: START_SYNC, Arguments: { StateMachineArn: expression }, End: true } },
      },
      { Worker: stateMachineArn('Worker') },
    );
    expect(
      await failedProbes(parentPolicies(stack), probesFor({ ...PARENT, name: 'Worker', pattern: 'RUN_JOB' }, PARENT)),
    ).toEqual([]);
  });

  test('fromChainable: tasks whose construct grants itself are not listed as not granted; a custom task is', () => {
    const stack = newStack();
    const chain = new tasks.StepFunctionsStartExecution(stack, 'Start', {
      stateMachine: importedChild(stack, 'Child', stateMachineArn('Worker')),
    })
      .next(
        new tasks.LambdaInvoke(stack, 'Notify', {
          lambdaFunction: lambda.Function.fromFunctionArn(stack, 'NotifyFunction', FUNCTION_ARN),
        }),
      )
      .next(
        new tasks.CallAwsService(stack, 'Describe run', {
          service: 'sfn',
          action: 'describeExecution',
          parameters: { ExecutionArn: sfn.JsonPath.stringAt('$.runArn') },
          iamResources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:Reporting:*`],
        }),
      )
      .next(
        new sfn.CustomState(stack, 'Custom', {
          stateJson: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', Parameters: { QueueUrl: 'q' } },
        }),
      );
    const definitionBody = sfn.DefinitionBody.fromChainable(chain);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    // The CallAwsService describeExecution is the parent's own task: no foreignStatesGrants warning.
    expect(
      Annotations.fromStack(stack)
        .findWarning('*', Match.anyValue())
        .map((w) => w.entry.data),
    ).toEqual([
      expect.stringMatching(/get no grant from it: 'Custom' \(arn:aws:states:::sqs:sendMessage\)\. Grant them/),
    ]);
  });

  test('no warning when every task starts a child', () => {
    const { stack } = roleFromAsl(oneTask(START, { StateMachineArn: stateMachineArn('Worker') }));
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('warns when StepFunctionsStartExecution grants reach the role without its definition', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Worker'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { child });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Start', { stateMachine: child }),
      ),
    });
    const warnings = Annotations.fromStack(stack).findWarning('/Stack/ParentRole/Resource', Match.anyValue());
    expect(warnings.map((w) => w.entry.data)).toEqual([
      expect.stringMatching(
        new RegExp(
          'also holds statements that start child state machines which this library did not make: ' +
            `states:StartExecution on ${stateMachineArn('Worker')}\\. .*Pass the parent's definition to NestedWorkflowRole`,
        ),
      ),
    ]);
  });
});

describe('each task resource grants what its integration pattern needs', () => {
  const start = (name: string) => ({
    Action: 'states:StartExecution',
    Effect: 'Allow',
    Resource: stateMachineArn(name),
  });
  const executions = (name: string) => ({
    Action: ['states:DescribeExecution', 'states:StopExecution'],
    Effect: 'Allow',
    Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${name}:*`,
  });
  test.each<[string, object[]]>([
    ['arn:aws:states:::states:startExecution', [start('Worker')]],
    ['arn:aws:states:::states:startExecution.sync', [start('Worker'), executions('Worker'), eventsStatement()]],
    ['arn:aws:states:::states:startExecution.sync:2', [start('Worker'), executions('Worker'), eventsStatement()]],
    ['arn:aws:states:::states:startExecution.waitForTaskToken', [start('Worker')]],
    ['arn:aws:states:::aws-sdk:sfn:startExecution', [start('Worker')]],
    ['arn:aws:states:::aws-sdk:sfn:startExecution.waitForTaskToken', [start('Worker')]],
    [
      'arn:aws:states:::aws-sdk:sfn:startSyncExecution',
      [{ Action: 'states:StartSyncExecution', Effect: 'Allow', Resource: stateMachineArn('Worker') }],
    ],
  ])('%s', (resource, statements) => {
    const { stack } = roleFromAsl(oneTask(resource, { StateMachineArn: stateMachineArn('Worker') }));
    expect(Object.values(policyDocuments(Template.fromStack(stack)))).toEqual([
      { Version: '2012-10-17', Statement: statements },
    ]);
  });
});

describe('definitions in other shapes', () => {
  test('skips entries that are not states and lists a task of another service as not granted', () => {
    const { stack } = roleFromAsl({
      StartAt: 'A',
      States: {
        Note: 'not a state',
        A: {
          Type: 'Parallel',
          Branches: ['not a branch', { StartAt: 'X' }],
          Next: 'B',
        },
        B: { Type: 'Task', Resource: FUNCTION_ARN, End: true },
        C: { Type: 'Task', Resource: START, Parameters: { StateMachineArn: stateMachineArn('Worker') }, End: true },
      },
    });
    expect(Object.values(policyDocuments(Template.fromStack(stack)))).toEqual([
      {
        Version: '2012-10-17',
        Statement: [{ Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Worker') }],
      },
    ]);
    expect(
      Annotations.fromStack(stack).findWarning('/Stack/ParentRole/Resource', Match.anyValue())[0].entry.data,
    ).toContain(`get no grant from it: 'B' (${FUNCTION_ARN}).`);
  });

  test('a CustomState holding a startExecution task is read like a definition', () => {
    const stack = newStack();
    const custom = new sfn.CustomState(stack, 'Custom', {
      stateJson: { Type: 'Task', Resource: START, Parameters: { StateMachineArn: stateMachineArn('Worker') } },
    });
    const definitionBody = sfn.DefinitionBody.fromChainable(custom.next(new sfn.Pass(stack, 'Done')));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowPolicy',
      PolicyDocument: {
        Statement: [{ Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Worker') }],
      },
    });
  });

  test('the ARN of an L1 CfnStateMachine is split like an imported ARN', async () => {
    const stack = newStack();
    const cfn = new sfn.CfnStateMachine(stack, 'L1Child', {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/ChildRole`,
      stateMachineName: 'L1Child',
      definitionString: '{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}',
    });
    roleFromAsl(oneTask(START_SYNC, { StateMachineArn: '${Child}' }), { Child: cfn.attrArn }, stack);
    const probes = probesFor({ ...PARENT, name: 'L1Child', pattern: 'RUN_JOB' }, PARENT);
    expect(await failedProbes(parentPolicies(stack), probes)).toEqual([]);
  });
});

describe('bad definitions are refused at synthesis, before any resource exists', () => {
  const runtimeArn = oneTask(START_SYNC, { 'StateMachineArn.$': '$.childArn' });

  test.each<[string, object, { [key: string]: string } | undefined, RegExp]>([
    [
      'a child ARN from the input (JSONPath)',
      runtimeArn,
      undefined,
      /state 'Start child' takes the ARN of the child it starts from its input at run time \("StateMachineArn\.\$": "\$\.childArn"\).*runtimeChildren: \[\{ stateName: 'Start child', children: \[childA, childB\] \}\]/,
    ],
    [
      'a child ARN from a JSONata expression',
      {
        StartAt: 'Run',
        States: {
          Run: {
            Type: 'Task',
            QueryLanguage: 'JSONata',
            Resource: START_SYNC,
            Arguments: { StateMachineArn: '{% $states.input.arn %}' },
            End: true,
          },
        },
      },
      undefined,
      /state 'Run' takes the ARN of the child it starts from a JSONata expression evaluated at run time \("StateMachineArn": "\{% \$states\.input\.arn %\}"\)/,
    ],
    [
      'JSONata Arguments that are one expression',
      {
        QueryLanguage: 'JSONata',
        StartAt: 'Run',
        States: { Run: { Type: 'Task', Resource: START, Arguments: '{% $states.input %}', End: true } },
      },
      undefined,
      /state 'Run' takes the ARN of the child it starts from a JSONata expression evaluated at run time \("Arguments": "\{% \$states\.input %\}"\)/,
    ],
    [
      'a placeholder without substitution',
      oneTask(START, { StateMachineArn: '${ChildArn}' }),
      { OtherArn: stateMachineArn('Other') },
      /state 'Start child' uses \$\{ChildArn\} in its Parameters\.StateMachineArn, but `definitionSubstitutions` has no `ChildArn` \(it has: OtherArn\)/,
    ],
    [
      'a placeholder in the Resource without substitution',
      oneTask('arn:${Partition}:states:::states:startExecution', { StateMachineArn: stateMachineArn('Worker') }),
      undefined,
      /state 'Start child' uses \$\{Partition\} in its Resource, but `definitionSubstitutions` has no `Partition`/,
    ],
    [
      'a credentials role from the input',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker') }, { Credentials: { 'RoleArn.$': '$.role' } }),
      undefined,
      /state 'Start child' takes its Credentials role at run time .*Name the role in the definition/,
    ],
    [
      'a credentials role from a JSONata expression',
      {
        QueryLanguage: 'JSONata',
        StartAt: 'Start child',
        States: {
          'Start child': {
            Type: 'Task',
            Resource: START,
            Arguments: { StateMachineArn: stateMachineArn('Worker') },
            Credentials: { RoleArn: '{% $states.input.role %}' },
            End: true,
          },
        },
      },
      undefined,
      /state 'Start child' takes its Credentials role at run time/,
    ],
    [
      'credentials that are not an object',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker') }, { Credentials: 'Starter' }),
      undefined,
      /state 'Start child' takes its Credentials role at run time \("Starter"\)/,
    ],
    [
      'a callback child in another account',
      oneTask(
        `${START}.waitForTaskToken`,
        { StateMachineArn: stateMachineArn('Worker', { account: OTHER_ACCOUNT }) },
        { Credentials: { RoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/Starter` } },
      ),
      undefined,
      /is in account 222222222222 and uses \.waitForTaskToken, but task tokens cannot cross accounts/,
    ],
    [
      'a JSONata task without Arguments',
      { QueryLanguage: 'JSONata', StartAt: 'Run', States: { Run: { Type: 'Task', Resource: START, End: true } } },
      undefined,
      /state 'Run' starts a child state machine .* but has no Arguments\.StateMachineArn/,
    ],
    [
      'a credentials role that is not a role ARN',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker') }, { Credentials: { RoleArn: 'Starter' } }),
      undefined,
      /the Credentials\.RoleArn of state 'Start child' must be an IAM role ARN .*got: Starter/,
    ],
    [
      'a task without StateMachineArn',
      oneTask(START, { Input: {} }),
      undefined,
      /state 'Start child' starts a child state machine \(arn:aws:states:::states:startExecution\) but has no Parameters\.StateMachineArn/,
    ],
    [
      'an activity ARN as the child',
      oneTask(START, { StateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:activity:Worker` }),
      undefined,
      /the StateMachineArn of state 'Start child' must be a state machine ARN/,
    ],
    [
      'a child in another account without Credentials',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker', { account: OTHER_ACCOUNT }) }),
      undefined,
      /The child .* of state 'Start child' is in account 222222222222, .*"Credentials": \{ "RoleArn": "<its role ARN>" \}/,
    ],
    [
      'a JSON document that is not a state machine',
      { Comment: 'no states' },
      undefined,
      /must be an Amazon States Language definition with a "States" object/,
    ],
    [
      'a Resource that is a number',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker') }, { Resource: 42 }),
      undefined,
      /the Resource of state 'Start child' must be a string \(an integration ARN such as "arn:<partition>:states:::states:startExecution\.sync:2"\), got a number: 42$/,
    ],
    [
      'a Task state without a Resource',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker') }, { Resource: undefined }),
      undefined,
      /the Resource of state 'Start child' must be a string \(an integration ARN such as "arn:<partition>:states:::states:startExecution\.sync:2"\), got none\. Step Functions refuses a Task state without a Resource: give it the ARN of its integration\.$/,
    ],
    [
      'a Task state whose Resource is null',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker') }, { Resource: null }),
      undefined,
      /the Resource of state 'Start child' must be a string .*, got null$/,
    ],
    [
      'a Resource that is an intrinsic object',
      oneTask(START, { StateMachineArn: stateMachineArn('Worker') }, { Resource: { 'Fn::Sub': START } }),
      undefined,
      /the Resource of state 'Start child' must be a string .*, got an object: \{"Fn::Sub":"arn:aws:states:::states:startExecution"\}$/,
    ],
    [
      'a StateMachineArn that is a Ref (SAM, Serverless)',
      oneTask(START, { StateMachineArn: { Ref: 'Child' } }),
      undefined,
      new RegExp(
        escape(
          'the Parameters.StateMachineArn of state \'Start child\' must be a string, got an object: {"Ref":"Child"}. CDK does not resolve ' +
            'CloudFormation intrinsics inside a definition (SAM and the Serverless Framework render them before deploying). ' +
            'Write "StateMachineArn": "${ChildArn}" and pass `definitionSubstitutions: { ChildArn: child.stateMachineArn }` to both ' +
            'the state machine and NestedWorkflowRole.',
        ),
      ),
    ],
    [
      'a StateMachineArn that is an Fn::Join',
      oneTask(START_SYNC, {
        StateMachineArn: { 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'states', 'stateMachine:Child']] },
      }),
      undefined,
      /the Parameters\.StateMachineArn of state 'Start child' must be a string, got an object: \{"Fn::Join":.*\. CDK does not resolve CloudFormation intrinsics/,
    ],
    [
      'a JSONata Arguments.StateMachineArn that is an intrinsic',
      {
        QueryLanguage: 'JSONata',
        StartAt: 'Run',
        States: { Run: { Type: 'Task', Resource: START, Arguments: { StateMachineArn: { Ref: 'Child' } }, End: true } },
      },
      undefined,
      /the Arguments\.StateMachineArn of state 'Run' must be a string, got an object: \{"Ref":"Child"\}\. CDK does not resolve/,
    ],
    [
      'a StateMachineArn that is null',
      oneTask(START, { StateMachineArn: null }),
      undefined,
      /the Parameters\.StateMachineArn of state 'Start child' must be a string, got null\. Name the child by its ARN/,
    ],
    [
      'a long intrinsic object, shortened',
      oneTask(START, {
        StateMachineArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', 'x'.repeat(120)]] },
      }),
      undefined,
      /got an object: \{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":states:","x+\.\.\.\. CDK does not resolve/,
    ],
    [
      'a StateMachineArn that is a number',
      oneTask(START, { StateMachineArn: 42 }),
      undefined,
      /the Parameters\.StateMachineArn of state 'Start child' must be a string, got a number: 42\. Name the child by its ARN: "StateMachineArn": "arn:<partition>:states:<region>:<account>:stateMachine:<name>", or "\$\{ChildArn\}" with `definitionSubstitutions`\.$/,
    ],
    [
      'a StateMachineArn.$ that is not a string',
      oneTask(START, { 'StateMachineArn.$': ['$.arn'] }),
      undefined,
      /the Parameters\.StateMachineArn\.\$ of state 'Start child' must be a string, got an array: \["\$\.arn"\]/,
    ],
    [
      'a JSONata expression that is not a constant',
      {
        QueryLanguage: 'JSONata',
        StartAt: 'Run',
        States: {
          Run: {
            Type: 'Task',
            Resource: START,
            Arguments: {
              StateMachineArn: "{% 'arn:aws:states:us-east-1:111111111111:stateMachine:' & $states.input.name %}",
            },
            End: true,
          },
        },
      },
      undefined,
      /state 'Run' takes the ARN of the child it starts from a JSONata expression evaluated at run time \("StateMachineArn": "\{% 'arn:aws:states:us-east-1:111111111111:stateMachine:' & \$states\.input\.name %\}"\)/,
    ],
  ])('%s', (_what, definition, definitionSubstitutions, message) => {
    const stack = newStack();
    expect(() => roleFromAsl(definition, definitionSubstitutions, stack)).toThrow(message);
    expect(stack.node.tryFindChild('ParentRole')?.node.tryFindChild('Resource')).toBeUndefined();
  });

  test('a file that is not valid JSON: the parse error and the file path', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'asl-')), 'broken.asl.json');
    fs.writeFileSync(file, '{ "StartAt": "A", "States": { ');
    const stack = newStack();
    expect(
      () => new NestedWorkflowRole(stack, 'ParentRole', { definitionBody: sfn.DefinitionBody.fromFile(file) }),
    ).toThrow(
      new RegExp(`\`definitionBody\` file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON: .+`),
    );
  });

  test('a missing file', () => {
    const stack = newStack();
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: sfn.DefinitionBody.fromFile(path.join(__dirname, '..', 'definitions', 'missing.asl.json')),
        }),
    ).toThrow(/`definitionBody` cannot read the file .*missing\.asl\.json/);
  });

  test('a string that is not valid JSON', () => {
    const stack = newStack();
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', { definitionBody: sfn.DefinitionBody.fromString('StartAt: A') }),
    ).toThrow(/`definitionBody` \(DefinitionBody\.fromString\) is not valid JSON: /);
  });

  test('a JSON value that is not an object', () => {
    const stack = newStack();
    expect(
      () => new NestedWorkflowRole(stack, 'ParentRole', { definitionBody: sfn.DefinitionBody.fromString('[1, 2]') }),
    ).toThrow(/must be a JSON object \(an Amazon States Language definition\), got: \[1, 2\]/);
  });

  test('a definition body of another kind', () => {
    class OtherBody extends sfn.DefinitionBody {
      public bind(): sfn.DefinitionConfig {
        return { definition: {} };
      }
    }
    expect(() => new NestedWorkflowRole(newStack(), 'ParentRole', { definitionBody: new OtherBody() })).toThrow(
      /`definitionBody` must come from sfn\.DefinitionBody\.fromFile, fromString or fromChainable, got: OtherBody/,
    );
  });

  test('definitionSubstitutions without definitionBody', () => {
    expect(() => new NestedWorkflowRole(newStack(), 'ParentRole', { definitionSubstitutions: { A: 'b' } })).toThrow(
      /`definitionSubstitutions` apply to `definitionBody`, but no `definitionBody` was given/,
    );
  });

  test('startSyncExecution on a Standard state machine of the app', () => {
    const stack = newStack();
    const standard = inStackChild(stack, 'Standard');
    expect(() =>
      roleFromAsl(
        oneTask('arn:aws:states:::aws-sdk:sfn:startSyncExecution', { StateMachineArn: '${Child}' }),
        { Child: standard.stateMachineArn },
        stack,
      ),
    ).toThrow(
      /starts Stack\/Standard, a STANDARD state machine, but only Express state machines can be started with startSyncExecution/,
    );
  });

  test('startExecution.sync on an Express state machine of the app, through Credentials (another account)', () => {
    const stack = newStack();
    const express = inStackChild(stack, 'Express', { stateMachineType: sfn.StateMachineType.EXPRESS });
    const credentials = { RoleArn: `arn:aws:iam::${ACCOUNT}:role/Starter` };
    expect(() =>
      roleFromAsl(
        oneTask(START_SYNC, { StateMachineArn: '${Child}' }, { Credentials: credentials }),
        { Child: express.stateMachineArn },
        stack,
      ),
    ).toThrow(
      /is an Express state machine started with startExecution\.sync through Credentials \(in another account\), which Step Functions does not support for nested Express workflows\. Use arn:<partition>:states:::aws-sdk:sfn:startSyncExecution in state 'Start child'\./,
    );
  });

  test.each([
    ['with no children', []],
    ['twice', undefined],
  ])('runtimeChildren naming a state %s', (_what, children) => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Worker'));
    const entry = { stateName: 'Start child', children: children ?? [child] };
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(runtimeArn)),
          runtimeChildren: children ? [entry] : [entry, entry],
        }),
    ).toThrow(/`runtimeChildren` must name each state once with at least one child, got: 'Start child'/);
  });

  test('a typo in runtimeChildren names the entry and the states that take their child at run time', () => {
    const stack = newStack();
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(runtimeArn)),
          runtimeChildren: [{ stateName: 'Strat child', children: [importedChild(stack, 'A', stateMachineArn('A'))] }],
        }),
    ).toThrow(
      "Stack/ParentRole: state 'Start child' takes the ARN of the child it starts from its input at run time " +
        '("StateMachineArn.$": "$.childArn"), which no policy can scope without granting every state machine. ' +
        "`runtimeChildren` has no entry for 'Start child': it names 'Strat child', and the states of this definition that " +
        "take their child at run time are 'Start child'. Check the state names in `runtimeChildren`.",
    );
  });

  test('runtimeChildren naming a state no definition has fails validation', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(runtimeArn)),
      runtimeChildren: [
        { stateName: 'Start child', children: [importedChild(stack, 'A', stateMachineArn('A'))] },
        { stateName: 'Typo', children: [importedChild(stack, 'B', stateMachineArn('B'))] },
      ],
    });
    expect(() => Template.fromStack(stack)).toThrow(
      "`runtimeChildren` names state 'Typo', but no definition of this role has a state 'Typo' that takes its child's ARN " +
        "at run time (the states that do: 'Start child'). Check the state name, or remove the entry.",
    );
  });

  test('a definition that starts no child fails validation, saying so', () => {
    const { stack } = roleFromAsl(oneTask('arn:aws:states:::lambda:invoke', { FunctionName: FUNCTION_ARN }));
    expect(() => Template.fromStack(stack)).toThrow(
      /NestedWorkflowRole has no child state machine: .*its definition has no task that starts one/,
    );
  });

  test("addDefinition after the state machine was created with the role: aws-cdk-lib's task statements are still left out", async () => {
    const stack = newStack();
    const task = new tasks.StepFunctionsStartExecution(stack, 'Start', {
      stateMachine: importedChild(stack, 'Child', stateMachineArn('Worker')),
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    });
    const definitionBody = sfn.DefinitionBody.fromChainable(task);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    parentRole.addDefinition(definitionBody);
    const template = Template.fromStack(stack);
    // No DefaultPolicy: the task's own statements (execution:Worker* without the colon) never reached the role.
    expect(
      Object.keys(template.findResources('AWS::IAM::Policy')).filter((id) => id.includes('DefaultPolicy')),
    ).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('foreignStatesGrants'))).toEqual([]);
    const probes = probesFor({ ...PARENT, name: 'Worker', pattern: 'RUN_JOB' }, PARENT);
    expect(await failedProbes(parentPolicies(stack), probes)).toEqual([]);
  });
});
