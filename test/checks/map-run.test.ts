import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole } from '../../lib';
import { checkTemplate, readParents } from '../../lib/private/checks/engine';
import { JsonObject } from '../../lib/private/model/json';
import { TemplateReader } from '../../lib/private/read/template-reader';
import { CheckRun, cleanUp, newCheckedApp, runChecks, summarize } from '../util/checks';
import { ACCOUNT, inStackChild, REGION, stateMachineArn } from '../util/fixtures';

const ENV = { partition: 'aws', region: REGION, account: ACCOUNT };
const MAP_ASL = path.join(__dirname, '..', 'definitions', 'distributed-map.asl.json');
const states = (rest: string) => `arn:aws:states:${REGION}:${ACCOUNT}:${rest}`;

/** The template of `Stack` in the cloud assembly of a run. */
const stackTemplate = (run: CheckRun): JsonObject =>
  JSON.parse(fs.readFileSync(path.join(run.outdir, 'Stack.template.json'), 'utf-8'));

/** `kind action resource` of every call a parent of the template needs. */
function callsOf(t: JsonObject, parent: string): string[] {
  const read = readParents(new TemplateReader(t, ENV)).find((p) => p.logicalId.startsWith(parent));
  return read!.calls.map((c) => `${c.kind} ${c.action} ${c.resource}`);
}

const findings = (t: JsonObject) =>
  checkTemplate(new TemplateReader(t, ENV)).map((f) => `${f.rule.id} ${f.parent}: ${f.message}`);

/**
 * GIVEN an app whose parent is built with aws-cdk-lib only: an `sfn.DistributedMap` whose items start `Child` with
 * `StepFunctionsStartExecution` (aws-cdk-lib attaches its `DistributedMapPolicy` to the parent's role).
 */
function cdkDistributedMapApp(opts: { label?: string; named?: boolean; pattern?: sfn.IntegrationPattern } = {}) {
  const app = newCheckedApp();
  const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
  const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });
  const map = new sfn.DistributedMap(stack, 'Process items', { label: opts.label, itemsPath: '$.items' });
  map.itemProcessor(
    new tasks.StepFunctionsStartExecution(stack, 'Start item', {
      stateMachine: child,
      integrationPattern: opts.pattern ?? sfn.IntegrationPattern.REQUEST_RESPONSE,
    }),
  );
  new sfn.StateMachine(stack, 'Parent', {
    definitionBody: sfn.DefinitionBody.fromChainable(map),
    stateMachineName: opts.named === false ? undefined : 'Parent',
  });
  return { app, stack };
}

/** A definition with one Distributed Map (Label `Items` unless `label: null`) whose item starts `item`. */
function mapDefinition(opts: { label?: string | null; executionType?: string; resource?: string } = {}): string {
  return JSON.stringify({
    StartAt: 'Process items',
    States: {
      'Process items': {
        Type: 'Map',
        ...(opts.label === null ? {} : { Label: opts.label ?? 'Items' }),
        ItemsPath: '$.items',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: opts.executionType ?? 'STANDARD' },
          StartAt: 'Start item',
          States: {
            'Start item': {
              Type: 'Task',
              Resource: opts.resource ?? 'arn:aws:states:::states:startExecution',
              Parameters: { StateMachineArn: stateMachineArn('Child'), 'Input.$': '$' },
              End: true,
            },
          },
        },
        End: true,
      },
    },
  });
}

/** A hand-written template: `Role` with `statements`, `Parent` (named `Parent` unless `name: null`) and extras. */
function template(
  definition: string,
  statements: JsonObject[],
  parent: JsonObject = {},
  extra: JsonObject = {},
): JsonObject {
  return {
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {},
          Policies: [{ PolicyName: 'P', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
        },
      },
      Parent: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          StateMachineName: 'Parent',
          RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
          DefinitionString: definition,
          ...parent,
        },
      },
      ...extra,
    },
  };
}

const allow = (action: string | string[], resource: string | string[]) => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
});
const START_CHILD = allow('states:StartExecution', stateMachineArn('Child'));
/** Exactly the Map Run grants of a parent `Parent` whose maps are labelled `Items`. */
const MAP_RUN = [
  allow('states:StartExecution', states('stateMachine:Parent')),
  allow(['states:DescribeExecution', 'states:StopExecution'], states('execution:Parent:*')),
  allow('states:RedriveExecution', states('execution:Parent/Items:*')),
];

describe('the checks on the Map Runs of Distributed Maps', () => {
  test("aws-cdk-lib's sfn.DistributedMap (its DistributedMapPolicy) with a request-response child: the Map Run calls on the parent itself are required and allowed, no finding", () => {
    const { app } = cdkDistributedMapApp({ label: 'Items' });
    const run = runChecks(app);
    expect(callsOf(stackTemplate(run), 'Parent')).toEqual([
      `start states:StartExecution ${stateMachineArn('Child')}`,
      `mapRun states:StartExecution ${states('stateMachine:Parent')}`,
      `mapRun states:DescribeExecution ${states('execution:Parent:example-execution-id')}`,
      `mapRun states:StopExecution ${states('execution:Parent:example-execution-id')}`,
      `mapRun states:RedriveExecution ${states('execution:Parent/Items:example-execution-id')}`,
    ]);
    try {
      expect(summarize(run.violations)).toEqual([]);
      expect(run.success).toBe(true);
    } finally {
      cleanUp(run);
    }
  });

  test('aws-cdk-lib with an unnamed parent and an unlabelled map: the calls name the parent by its generated name and any Map Run label, no finding', () => {
    const { app } = cdkDistributedMapApp({ named: false });
    const run = runChecks(app);
    const calls = callsOf(stackTemplate(run), 'Parent');
    expect(calls.filter((c) => c.startsWith('mapRun'))).toEqual([
      expect.stringMatching(
        /^mapRun states:StartExecution arn:aws:states:us-east-1:111111111111:stateMachine:⟨Name\.Parent[0-9A-F]{8}⟩$/,
      ),
      expect.stringMatching(/:execution:⟨Name\.Parent[0-9A-F]{8}⟩:example-execution-id$/),
      expect.stringMatching(/:execution:⟨Name\.Parent[0-9A-F]{8}⟩:example-execution-id$/),
      expect.stringMatching(
        /^mapRun states:RedriveExecution .*:execution:⟨Name\.Parent[0-9A-F]{8}⟩\/example-map-run:example-execution-id$/,
      ),
    ]);
    try {
      expect(summarize(run.violations)).toEqual([]);
    } finally {
      cleanUp(run);
    }
  });

  test("aws-cdk-lib with a .sync child inside the map: only StepFunctionsStartExecution's own execution:Child* is too broad, the Map Run grants are exact", () => {
    const { app } = cdkDistributedMapApp({ label: 'Items', pattern: sfn.IntegrationPattern.RUN_JOB });
    const run = runChecks(app);
    try {
      expect(summarize(run.violations)).toEqual(['NWR2: Stack/Parent/Resource']);
      expect(run.violations[0].description).toContain(
        `also allows states:DescribeExecution on ${states('execution:ChildAdmin:example-execution-id')}`,
      );
    } finally {
      cleanUp(run);
    }
  });

  test.each([
    ['named', true],
    ['unnamed', false],
  ])(
    'a NestedWorkflowRole parent (%s) of definitions/distributed-map.asl.json, with its Express .sync item child: no finding',
    (_name, named) => {
      const app = newCheckedApp();
      const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
      const report = inStackChild(stack, 'ReportChild', { stateMachineName: 'ReportChild' });
      const item = inStackChild(stack, 'ItemChild', {
        stateMachineName: 'ItemChild',
        stateMachineType: sfn.StateMachineType.EXPRESS,
      });
      const definitionBody = sfn.DefinitionBody.fromFile(MAP_ASL);
      const definitionSubstitutions = {
        ReportChildArn: report.stateMachineArn,
        ItemChildArn: item.stateMachineArn,
        Bucket: 'orders-bucket',
      };
      const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
      new sfn.StateMachine(stack, 'Parent', {
        role: parentRole.role,
        definitionBody,
        definitionSubstitutions,
        stateMachineName: named ? 'Parent' : undefined,
      });
      const run = runChecks(app);
      try {
        expect(summarize(run.violations)).toEqual([]);
        expect(run.success).toBe(true);
      } finally {
        cleanUp(run);
      }
    },
  );

  test('a hand-written L1 parent with a Distributed Map and no Map Run grants: missing (NWR1), every Map Run call named', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const role = new iam.CfnRole(stack, 'HandWrittenRole', {
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      policies: [{ policyName: 'StartChild', policyDocument: { Version: '2012-10-17', Statement: [START_CHILD] } }],
    });
    new sfn.CfnStateMachine(stack, 'HandWrittenParent', {
      stateMachineName: 'Parent',
      roleArn: role.attrArn,
      definitionString: mapDefinition(),
    });
    const run = runChecks(app);
    try {
      expect(summarize(run.violations)).toEqual(['NWR1: Stack/HandWrittenParent']);
      expect(run.violations[0].description).toContain(
        `does not allow: states:StartExecution on ${states('stateMachine:Parent')} (state 'Process items'); ` +
          `states:DescribeExecution on ${states('execution:Parent:example-execution-id')} (state 'Process items'); ` +
          `states:StopExecution on ${states('execution:Parent:example-execution-id')} (state 'Process items'); ` +
          `states:RedriveExecution on ${states('execution:Parent/Items:example-execution-id')} (state 'Process items').`,
      );
      expect(run.success).toBe(false);
    } finally {
      cleanUp(run);
    }
  });

  test('exact Map Run grants on a hand-written template: no finding', () => {
    expect(findings(template(mapDefinition(), [START_CHILD, ...MAP_RUN]))).toEqual([]);
  });

  test.each([
    [
      'a name prefix on the parent',
      allow('states:StartExecution', states('stateMachine:Parent*')),
      `states:StartExecution on ${states('stateMachine:ParentAdmin')}`,
    ],
    [
      'another state machine',
      allow('states:StartExecution', [states('stateMachine:Parent'), states('stateMachine:OtherStateMachine')]),
      `states:StartExecution on ${states('stateMachine:OtherStateMachine')}`,
    ],
    [
      'the executions of every name that starts with the parent',
      allow(['states:DescribeExecution', 'states:StopExecution'], states('execution:Parent*')),
      `states:DescribeExecution on ${states('execution:ParentAdmin:example-execution-id')}`,
    ],
    [
      "every Map Run label of the parent's labelled maps",
      allow('states:RedriveExecution', states('execution:Parent/*:*')),
      `states:RedriveExecution on ${states('execution:Parent/ItemsOther:example-execution-id')}`,
    ],
    [
      "the parent's own executions too",
      allow('states:RedriveExecution', states('execution:Parent*')),
      `states:RedriveExecution on ${states('execution:ParentAdmin/Items:example-execution-id')}`,
    ],
    [
      'another state machine',
      allow(
        ['states:DescribeExecution', 'states:StopExecution'],
        [states('execution:Parent:*'), states('execution:OtherStateMachine:*')],
      ),
      `states:DescribeExecution on ${states('execution:OtherStateMachine:example-execution-id')}`,
    ],
  ])('a Map Run grant on %s is too broad (NWR2), with the example', (_name, broad, example) => {
    const action = ([] as string[]).concat(broad.Action)[0];
    const exact = MAP_RUN.filter((s) => ![s.Action].flat().includes(action));
    const found = findings(template(mapDefinition(), [START_CHILD, ...exact, broad]));
    expect(found).toEqual([
      expect.stringContaining(`also allows ${example} (state 'Process items'), which the parent never calls.`),
    ]);
    expect(found[0]).toMatch(/^NWR2 Parent: Statement 3 of Role\.Policies\[0\] \(P\)/);
  });

  test('an unlabelled map: RedriveExecution on every label of the parent is required, and not too broad', () => {
    const unlabelled = [...MAP_RUN.slice(0, 2), allow('states:RedriveExecution', states('execution:Parent/*:*'))];
    const t = template(mapDefinition({ label: null }), [START_CHILD, ...unlabelled]);
    expect(callsOf(t, 'Parent')).toContain(
      `mapRun states:RedriveExecution ${states('execution:Parent/example-map-run:example-execution-id')}`,
    );
    expect(findings(t)).toEqual([]);
    // A grant on the label `Items` only does not cover a Map Run without label.
    expect(findings(template(mapDefinition({ label: null }), [START_CHILD, ...MAP_RUN]))).toEqual([
      expect.stringContaining(
        `does not allow: states:RedriveExecution on ${states('execution:Parent/example-map-run:example-execution-id')}`,
      ),
    ]);
  });

  test('a parent whose definition has a Distributed Map and no nested workflow is checked too', () => {
    const pass = mapDefinition().replace(/"Start item":\{[^}]*\}[^}]*\}/, '"Start item":{"Type":"Pass","End":true}');
    expect(pass).not.toContain('startExecution');
    expect(findings(template(pass, []))).toEqual([
      expect.stringContaining(
        `NWR1 Parent: The role Role does not allow: states:StartExecution on ${states('stateMachine:Parent')}`,
      ),
    ]);
  });
});

describe('a NestedWorkflowRole whose definition starts no child and has a Distributed Map', () => {
  test('the plugin finds its Map Run policy exact: no finding', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const definitionBody = sfn.DefinitionBody.fromString(
      mapDefinition().replace(/"Start item":\{[^}]*\}[^}]*\}/, '"Start item":{"Type":"Pass","End":true}'),
    );
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, stateMachineName: 'Parent' });
    const run = runChecks(app);
    try {
      expect(summarize(run.violations)).toEqual([]);
      expect(callsOf(stackTemplate(run), 'Parent')).toEqual(
        expect.arrayContaining([`mapRun states:StartExecution ${states('stateMachine:Parent')}`]),
      );
    } finally {
      cleanUp(run);
    }
  });
});

describe('the checks on Express children started with .sync', () => {
  const EXPRESS_CHILD = {
    ExpressChild: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { StateMachineName: 'ExpressChild', StateMachineType: 'EXPRESS', DefinitionString: '{}' },
    },
  };
  const syncDefinition = JSON.stringify({
    StartAt: 'Run',
    States: {
      Run: {
        Type: 'Task',
        Resource: 'arn:aws:states:::states:startExecution.sync:2',
        Parameters: { StateMachineArn: '${ExpressArn}' },
        End: true,
      },
    },
  });
  const parent = { DefinitionString: syncDefinition, DefinitionSubstitutions: { ExpressArn: { Ref: 'ExpressChild' } } };
  const STANDARD_SET = [
    allow('states:StartExecution', stateMachineArn('ExpressChild')),
    allow(['states:DescribeExecution', 'states:StopExecution'], states('execution:ExpressChild:*')),
    allow(
      ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
    ),
  ];
  const EXPRESS_DESCRIBE = states('express:ExpressChild:example-execution-id:example-express-id');

  test('a child the template defines as EXPRESS: the Standard set is required, nothing on its Express executions', () => {
    const t = template(syncDefinition, STANDARD_SET, parent, EXPRESS_CHILD);
    expect(callsOf(t, 'Parent')).toEqual([
      `start states:StartExecution ${stateMachineArn('ExpressChild')}`,
      `executions states:DescribeExecution ${states('execution:ExpressChild:example-execution-id')}`,
      `executions states:StopExecution ${states('execution:ExpressChild:example-execution-id')}`,
      `events events:PutTargets arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
      `events events:PutRule arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
      `events events:DescribeRule arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
    ]);
    expect(findings(t)).toEqual([]);
  });

  test('Describe on execution:<child>:* and express:<child>:* in one statement: too broad (NWR2), the Express executions are never described', () => {
    const both = allow(
      ['states:DescribeExecution', 'states:StopExecution'],
      [states('execution:ExpressChild:*'), states('express:ExpressChild:*')],
    );
    const [start, , events] = STANDARD_SET;
    expect(findings(template(syncDefinition, [start, both, events], parent, EXPRESS_CHILD))).toEqual([
      expect.stringContaining(
        `also allows states:DescribeExecution on ${EXPRESS_DESCRIBE} (state 'Run'), which the parent never calls.`,
      ),
    ]);
  });

  test('the same task on a STANDARD child of the template needs no Express grant', () => {
    const standard = {
      ExpressChild: {
        ...EXPRESS_CHILD.ExpressChild,
        Properties: { StateMachineName: 'ExpressChild', DefinitionString: '{}' },
      },
    };
    expect(findings(template(syncDefinition, STANDARD_SET, parent, standard))).toEqual([]);
  });
});

describe('the checks on definitions that cannot run (NWR5)', () => {
  const EXPRESS_TAIL =
    'waits for a job or a callback, and Express workflows support only request-response integrations. ' +
    'Use the request-response resource (without .sync or .waitForTaskToken) or arn:<partition>:states:::aws-sdk:sfn:startSyncExecution for an Express child, or make the parent a STANDARD state machine.';
  const granted = [START_CHILD, ...MAP_RUN];

  test("an Express parent with a .sync child: the construct's error, as an error", () => {
    const definition = JSON.stringify({
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync',
          Parameters: { StateMachineArn: stateMachineArn('Child') },
          End: true,
        },
      },
    });
    const found = checkTemplate(
      new TemplateReader(template(definition, granted, { StateMachineType: 'EXPRESS' }), ENV),
    );
    const cannotRun = found.filter((f) => f.rule.id === 'NWR5');
    expect(cannotRun.map((f) => f.message)).toEqual([
      `The definition cannot run: the parent's StateMachineType is EXPRESS, but state 'Run' (arn:aws:states:::states:startExecution.sync) ${EXPRESS_TAIL}`,
    ]);
    expect(cannotRun[0].rule.severity).toBe('error');
  });

  test('an Express parent whose only waiting task is a Lambda callback is checked too', () => {
    const definition = JSON.stringify({
      StartAt: 'Wait',
      States: {
        Wait: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'Notify', 'Payload.$': '$' },
          End: true,
        },
      },
    });
    expect(findings(template(definition, [], { StateMachineType: 'EXPRESS' }))).toEqual([
      `NWR5 Parent: The definition cannot run: the parent's StateMachineType is EXPRESS, but state 'Wait' (arn:aws:states:::lambda:invoke.waitForTaskToken) ${EXPRESS_TAIL}`,
    ]);
    // The same parent as STANDARD is not checked at all (it starts no child).
    expect(findings(template(definition, []))).toEqual([]);
  });

  test('an Express parent with request-response tasks, or a .sync task inside a STANDARD Distributed Map: no finding', () => {
    expect(findings(template(mapDefinition(), granted, { StateMachineType: 'EXPRESS' }))).toEqual([]);
    const syncInMap = mapDefinition({ resource: 'arn:aws:states:::states:startExecution.sync:2' });
    const syncGrants = [
      ...granted,
      allow(['states:DescribeExecution', 'states:StopExecution'], states('execution:Child:*')),
      allow(
        ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
      ),
    ];
    expect(findings(template(syncInMap, syncGrants, { StateMachineType: 'EXPRESS' }))).toEqual([]);
  });

  test("a .sync task in the Express child executions of a Distributed Map: the construct's error", () => {
    const definition = mapDefinition({
      executionType: 'EXPRESS',
      resource: 'arn:aws:states:::states:startExecution.sync',
    });
    expect(findings(template(definition, granted)).filter((f) => f.startsWith('NWR5'))).toEqual([
      "NWR5 Parent: The definition cannot run: state 'Start item' (arn:aws:states:::states:startExecution.sync) waits for a job or a callback, " +
        "but it runs in the Express child workflow executions of Distributed Map 'Process items' (ItemProcessor.ProcessorConfig.ExecutionType: EXPRESS), " +
        'and Express workflows support only request-response integrations. ' +
        'Use the request-response resource (without .sync or .waitForTaskToken), arn:<partition>:states:::aws-sdk:sfn:startSyncExecution for an Express child, or ExecutionType STANDARD.',
    ]);
  });

  test('a Map Run label that Step Functions refuses', () => {
    expect(
      findings(template(mapDefinition({ label: 'My items' }), granted)).filter((f) => f.startsWith('NWR5')),
    ).toEqual([
      expect.stringContaining(
        "the Label of Distributed Map 'Process items' must be 1-40 characters without white space",
      ),
    ]);
  });

  test('through the plugin: an L1 Express parent with a .sync child fails synthesis with NWR5', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    parentRole.addChild(child, { integrationPattern: sfn.IntegrationPattern.RUN_JOB });
    new sfn.CfnStateMachine(stack, 'ExpressParent', {
      stateMachineType: 'EXPRESS',
      roleArn: parentRole.role.roleArn,
      definitionString: JSON.stringify({
        StartAt: 'Run',
        States: {
          Run: {
            Type: 'Task',
            Resource: 'arn:aws:states:::states:startExecution.sync',
            Parameters: { StateMachineArn: stateMachineArn('Child') },
            End: true,
          },
        },
      }),
    });
    const run = runChecks(app as App);
    try {
      expect(run.violations.map((v) => v.ruleName)).toContain('NWR5');
      expect(run.violations.find((v) => v.ruleName === 'NWR5')!.description).toContain(
        "the parent's StateMachineType is EXPRESS, but state 'Run'",
      );
      expect(run.success).toBe(false);
    } finally {
      cleanUp(run);
    }
  });
});
