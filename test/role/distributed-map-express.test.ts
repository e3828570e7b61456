import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole, NestedWorkflowRoleProps } from '../../lib';
import { readDefinition } from '../../lib/private/read/definition';
import {
  ACCOUNT,
  eventsStatement,
  inStackChild,
  newStack,
  PARTITION,
  policyDocuments,
  REGION,
  stateMachineArn,
} from '../util/fixtures';
import {
  ChildScenario,
  expressSyncProbesFor,
  mapRunProbesFor,
  MapRunScenario,
  ProbeCase,
  probesFor,
} from '../util/probes';
import { ResolveEnv } from '../util/resolve';
import { RolePolicies, failedProbes as simulatedFailures, parentRolePolicies } from '../util/simulator';

const PARENT_ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };
const MAP_ASL = path.join(__dirname, '..', 'definitions', 'distributed-map.asl.json');
const START = 'arn:aws:states:::states:startExecution';

/** `arn:<AWS::Partition>:states:<region>:<account>:<rest>`, as the Map Run policy renders it. */
const statesArn = (rest: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:states:${REGION}:${ACCOUNT}:${rest}`]],
});

/** The same with the parent's `Name` attribute (an unnamed parent). */
const statesArnOf = (logicalId: string, before: string, after: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:states:${REGION}:${ACCOUNT}:${before}`,
      { 'Fn::GetAtt': [logicalId, 'Name'] },
      ...(after ? [after] : []),
    ],
  ],
});

interface MapParentOptions {
  readonly named?: boolean;
  readonly parentStateMachineType?: sfn.StateMachineType;
  readonly stateMachineType?: sfn.StateMachineType;
  readonly source?: 'fromFile' | 'fromString';
  /** The role is given no definition: it reads the one of the state machine that uses it. */
  readonly derived?: boolean;
}

/**
 * GIVEN the parent of `definitions/distributed-map.asl.json` (a labelled Distributed Map reading from S3 whose items
 * start an Express child with `.sync:2`, and a top-level `.sync` Standard child), its role and the parent state
 * machine using it.
 */
function mapParent(options: MapParentOptions = {}): Stack {
  const stack = newStack();
  const report = inStackChild(stack, 'ReportChild', { stateMachineName: 'ReportChild' });
  const item = inStackChild(stack, 'ItemChild', {
    stateMachineName: 'ItemChild',
    stateMachineType: sfn.StateMachineType.EXPRESS,
  });
  const definitionBody =
    options.source === 'fromString'
      ? sfn.DefinitionBody.fromString(fs.readFileSync(MAP_ASL, 'utf-8'))
      : sfn.DefinitionBody.fromFile(MAP_ASL);
  const definitionSubstitutions = {
    ReportChildArn: report.stateMachineArn,
    ItemChildArn: item.stateMachineArn,
    Bucket: 'orders-bucket',
  };
  const parentRole = new NestedWorkflowRole(
    stack,
    'ParentRole',
    options.derived
      ? { parentStateMachineType: options.parentStateMachineType }
      : { definitionBody, definitionSubstitutions, parentStateMachineType: options.parentStateMachineType },
  );
  new sfn.StateMachine(stack, 'Parent', {
    role: parentRole.role,
    definitionBody,
    definitionSubstitutions,
    stateMachineName: options.named === false ? undefined : 'Parent',
    stateMachineType: options.stateMachineType,
  });
  return stack;
}

const parentPolicies = (template: any, env: ResolveEnv = PARENT_ENV) => parentRolePolicies(template, env);

/** The probes that fail on `policies`, in the parent's environment. */
const failedProbes = (policies: RolePolicies, probes: ProbeCase[]) => simulatedFailures(policies, probes, PARENT_ENV);

/** The logical id of the only state machine whose id starts with `prefix`. */
function logicalIdOf(template: any, prefix: string): string {
  const ids = Object.keys(template.Resources).filter(
    (id) => id.startsWith(prefix) && template.Resources[id].Type === 'AWS::StepFunctions::StateMachine',
  );
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Every resource a resource depends on: `DependsOn`, and every `Ref`/`Fn::GetAtt` (and `Fn::Sub` reference) in it. */
function dependencies(template: any, logicalId: string): Set<string> {
  const resources = template.Resources;
  const out = new Set<string>([template.Resources[logicalId].DependsOn ?? []].flat());
  const pending: any[] = [resources[logicalId].Properties];
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) {
      pending.push(...value);
    } else if (value && typeof value === 'object') {
      if (typeof value.Ref === 'string' && value.Ref in resources) out.add(value.Ref);
      const getAtt = value['Fn::GetAtt'];
      if (Array.isArray(getAtt) && getAtt[0] in resources) out.add(getAtt[0]);
      const sub = value['Fn::Sub'];
      const text = typeof sub === 'string' ? sub : Array.isArray(sub) ? sub[0] : undefined;
      for (const match of (text ?? '').matchAll(/\$\{([^}.!]+)[^}]*\}/g)) {
        if (match[1] in resources) out.add(match[1]);
      }
      pending.push(...Object.values(value));
    }
  }
  return out;
}

/** A dependency cycle of the template (the logical ids around it), or undefined. */
function dependencyCycle(template: any): string[] | undefined {
  const ids = Object.keys(template.Resources);
  const edges = new Map(ids.map((id) => [id, [...dependencies(template, id)]]));
  const state = new Map<string, 'open' | 'done'>();
  for (const root of ids) {
    if (state.has(root)) continue;
    const stack: Array<{ id: string; next: number }> = [{ id: root, next: 0 }];
    state.set(root, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const targets = edges.get(top.id)!;
      if (top.next >= targets.length) {
        state.set(top.id, 'done');
        stack.pop();
        continue;
      }
      const target = targets[top.next++];
      if (state.get(target) === 'open') {
        const around = stack.map((f) => f.id);
        return [...around.slice(around.indexOf(target)), target];
      }
      if (!state.has(target)) {
        state.set(target, 'open');
        stack.push({ id: target, next: 0 });
      }
    }
  }
  return undefined;
}

const REPORT: ChildScenario = { ...PARENT_ENV, name: 'ReportChild', pattern: 'RUN_JOB' };
const ITEM: ChildScenario = { ...PARENT_ENV, name: 'ItemChild', pattern: 'RUN_JOB' };

describe('the issue scenario: a labelled Distributed Map reading from S3, an Express .sync:2 child in its items, a .sync Standard child', () => {
  test.each([
    ['named', true],
    ['unnamed', false],
  ])(
    '%s parent: synthesizes with no dependency cycle, the Map Run policy outside what the parent depends on',
    (_name, named) => {
      const template = Template.fromStack(mapParent({ named })).toJSON();
      expect(dependencyCycle(template)).toBeUndefined();
      const parent = logicalIdOf(template, 'Parent');
      const mapRunPolicy = Object.keys(template.Resources).find((id) => id.startsWith('ParentRoleMapRunPolicy'));
      expect(mapRunPolicy).toBeDefined();
      expect(dependencies(template, parent).has(mapRunPolicy!)).toBe(false);
      // The parent still waits for the policy that grants the events rule of its .sync children.
      const nestedPolicy = Object.keys(template.Resources).find((id) =>
        id.startsWith('ParentRoleNestedWorkflowPolicy'),
      );
      expect(template.Resources[parent].DependsOn).toEqual(expect.arrayContaining([nestedPolicy]));
      // Unnamed, the policy reads the parent's name from the parent: it depends on it, never the other way round.
      expect(dependencies(template, mapRunPolicy!).has(parent)).toBe(!named);
    },
  );

  test.each([
    ['named', true],
    ['unnamed', false],
  ])(
    '%s parent: the Map Run calls on itself and the calls on both children are Allowed, near misses Denied',
    async (_name, named) => {
      const template = Template.fromStack(mapParent({ named })).toJSON();
      const name = named ? 'Parent' : logicalIdOf(template, 'Parent');
      const parent: MapRunScenario = { ...PARENT_ENV, name, labels: ['Orders'] };
      const probes = [
        ...mapRunProbesFor(parent),
        ...probesFor(REPORT, PARENT_ENV),
        ...expressSyncProbesFor(ITEM, PARENT_ENV),
      ];
      expect(await failedProbes(parentPolicies(template), probes)).toEqual([]);
    },
  );

  test('the role holds exactly the nested-workflow statements and, in its own policy, the Map Run statements', () => {
    const template = Template.fromStack(mapParent());
    const documents = policyDocuments(template);
    const nested = Object.entries(documents).find(([id]) => id.startsWith('ParentRoleNestedWorkflowPolicy'))![1];
    expect(nested.Statement).toEqual([
      {
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: [{ Ref: expect.stringMatching(/^ReportChild/) }, { Ref: expect.stringMatching(/^ItemChild/) }],
      },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: [
          `arn:aws:states:${REGION}:${ACCOUNT}:execution:ReportChild:*`,
          `arn:aws:states:${REGION}:${ACCOUNT}:execution:ItemChild:*`,
        ],
      },
      eventsStatement(),
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowMapRunPolicy',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'states:StartExecution', Effect: 'Allow', Resource: statesArn('stateMachine:Parent') },
          {
            Action: ['states:DescribeExecution', 'states:StopExecution'],
            Effect: 'Allow',
            Resource: statesArn('execution:Parent:*'),
          },
          { Action: 'states:RedriveExecution', Effect: 'Allow', Resource: statesArn('execution:Parent/Orders:*') },
        ],
      },
    });
    expect(Object.keys(documents)).toHaveLength(2);
  });

  test('unnamed parent: the Map Run statements name it by its Name attribute', () => {
    const template = Template.fromStack(mapParent({ named: false }));
    const parent = logicalIdOf(template.toJSON(), 'Parent');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowMapRunPolicy',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'states:StartExecution', Effect: 'Allow', Resource: statesArnOf(parent, 'stateMachine:', '') },
          {
            Action: ['states:DescribeExecution', 'states:StopExecution'],
            Effect: 'Allow',
            Resource: statesArnOf(parent, 'execution:', ':*'),
          },
          {
            Action: 'states:RedriveExecution',
            Effect: 'Allow',
            Resource: statesArnOf(parent, 'execution:', '/Orders:*'),
          },
        ],
      },
    });
  });

  test.each([true, false])(
    'a role given no definition derives the same grants, Map Runs included, from the state machine that uses it (named parent: %s)',
    (named) => {
      const given = Template.fromStack(mapParent({ named })).toJSON();
      const derived = Template.fromStack(mapParent({ named, derived: true })).toJSON();
      const policiesOf = (template: any) =>
        Object.values<any>(template.Resources)
          .filter((r) => r.Type === 'AWS::IAM::Policy')
          .map((r) => [r.Properties.PolicyName, r.Properties.PolicyDocument]);
      expect(policiesOf(derived)).toEqual(policiesOf(given));
      expect(policiesOf(derived).map(([name]) => name)).toContain('NestedWorkflowMapRunPolicy');
      expect(dependencyCycle(derived)).toBeUndefined();
    },
  );

  test('the S3 reader of the Distributed Map is named in the warning of tasks that get no grant', () => {
    const stack = mapParent();
    const warnings = Annotations.fromStack(stack).findWarning('/Stack/ParentRole/Resource', Match.anyValue());
    expect(warnings).toHaveLength(1);
    expect(warnings[0].entry.data).toMatch(
      /these tasks of the definition get no grant from it: 'Process orders' \(ItemReader arn:aws:states:::s3:getObject\)\. /,
    );
  });

  test('the same parent declared Express (parentStateMachineType) is refused, naming the .sync state', () => {
    expect(() => mapParent({ parentStateMachineType: sfn.StateMachineType.EXPRESS })).toThrow(
      /`parentStateMachineType` is EXPRESS, but state 'Run report' \(arn:aws:states:::states:startExecution\.sync\) waits for a job or a callback, and Express workflows support only request-response integrations\. .*or make the parent a STANDARD state machine\./,
    );
  });

  test('the same parent created as an Express state machine fails synthesis, naming the .sync state', () => {
    const stack = mapParent({ stateMachineType: sfn.StateMachineType.EXPRESS });
    expect(() => Template.fromStack(stack)).toThrow(
      /the parent state machine Stack\/Parent that uses this role is EXPRESS, but state 'Run report' \(arn:aws:states:::states:startExecution\.sync\) waits for a job or a callback/,
    );
  });

  test('fromString reads the same Distributed Map', async () => {
    const template = Template.fromStack(mapParent({ source: 'fromString' })).toJSON();
    const parent: MapRunScenario = { ...PARENT_ENV, name: 'Parent', labels: ['Orders'] };
    expect(await failedProbes(parentPolicies(template), mapRunProbesFor(parent))).toEqual([]);
  });
});

/** A Distributed Map state starting `child` (request-response) in its items. */
function distributedMap(child: string, extra: object = {}, executionType = 'STANDARD'): object {
  return {
    Type: 'Map',
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: executionType },
      StartAt: `Start ${child}`,
      States: {
        [`Start ${child}`]: {
          Type: 'Task',
          Resource: START,
          Parameters: { StateMachineArn: stateMachineArn(child) },
          End: true,
        },
      },
    },
    End: true,
    ...extra,
  };
}

/** A role for `definition` with `props`, used by a parent state machine named `Parent`. */
function roleAndParent(definitionBody: sfn.DefinitionBody, props: NestedWorkflowRoleProps = {}, stack = newStack()) {
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, ...props });
  new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, stateMachineName: 'Parent' });
  return { stack, parentRole };
}

const fromAsl = (definition: object) => sfn.DefinitionBody.fromString(JSON.stringify(definition));

describe('Distributed Maps at any depth, in every kind of definition', () => {
  test('in a Parallel branch and in an inline Map, labelled: RedriveExecution on each label only', async () => {
    const { stack } = roleAndParent(
      fromAsl({
        StartAt: 'Fan out',
        States: {
          'Fan out': {
            Type: 'Parallel',
            Branches: [{ StartAt: 'Left', States: { Left: distributedMap('LeftChild', { Label: 'Left' }) } }],
            Next: 'Each',
          },
          Each: {
            Type: 'Map',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'INLINE' },
              StartAt: 'Right',
              States: { Right: distributedMap('RightChild', { Label: 'Right' }) },
            },
            End: true,
          },
        },
      }),
    );
    const template = Template.fromStack(stack).toJSON();
    const parent: MapRunScenario = { ...PARENT_ENV, name: 'Parent', labels: ['Left', 'Right'] };
    const children: ChildScenario[] = [
      { ...PARENT_ENV, name: 'LeftChild', pattern: 'REQUEST_RESPONSE' },
      { ...PARENT_ENV, name: 'RightChild', pattern: 'REQUEST_RESPONSE' },
    ];
    const probes = [
      ...mapRunProbesFor(parent),
      ...children.flatMap((c) => probesFor(c, PARENT_ENV).filter((p) => !p.action.startsWith('events:'))),
    ];
    expect(await failedProbes(parentPolicies(template), probes)).toEqual([]);
  });

  test('a Distributed Map without a Label: RedriveExecution on every label of this parent, and only of this parent', async () => {
    const { stack } = roleAndParent(
      fromAsl({
        StartAt: 'Outer',
        States: {
          Outer: distributedMap('Child', {
            Label: 'Outer',
            End: undefined,
            Next: 'Plain',
          }),
          Plain: distributedMap('Child'),
        },
      }),
    );
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowMapRunPolicy',
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          { Action: 'states:RedriveExecution', Effect: 'Allow', Resource: statesArn('execution:Parent/*:*') },
        ]),
      }),
    });
    const template = Template.fromStack(stack).toJSON();
    expect(await failedProbes(parentPolicies(template), mapRunProbesFor({ ...PARENT_ENV, name: 'Parent' }))).toEqual(
      [],
    );
  });

  test('a Distributed Map inside the item processor of another (JSONata): both labels', async () => {
    const { stack } = roleAndParent(
      fromAsl({
        QueryLanguage: 'JSONata',
        StartAt: 'Outer',
        States: {
          Outer: {
            Type: 'Map',
            Label: 'Outer',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'Inner',
              States: {
                Inner: {
                  ...distributedMap('Child', { Label: 'Inner' }),
                  ItemProcessor: {
                    ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
                    StartAt: 'Start child',
                    States: {
                      'Start child': {
                        Type: 'Task',
                        Resource: START,
                        Arguments: { StateMachineArn: stateMachineArn('Child') },
                        End: true,
                      },
                    },
                  },
                },
              },
            },
            End: true,
          },
        },
      }),
    );
    const template = Template.fromStack(stack).toJSON();
    const parent: MapRunScenario = { ...PARENT_ENV, name: 'Parent', labels: ['Outer', 'Inner'] };
    expect(await failedProbes(parentPolicies(template), mapRunProbesFor(parent))).toEqual([]);
  });

  test('fromChainable: sfn.Map in distributed mode inside a Parallel, with parentStateMachineName', async () => {
    const stack = newStack();
    const map = new sfn.Map(stack, 'Each order', { itemsPath: '$.orders' });
    map.itemProcessor(new sfn.Pass(stack, 'Order'), {
      mode: sfn.ProcessorMode.DISTRIBUTED,
      executionType: sfn.ProcessorType.STANDARD,
    });
    const definitionBody = sfn.DefinitionBody.fromChainable(new sfn.Parallel(stack, 'Fan out').branch(map));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody,
      child: inStackChild(stack, 'Child', { stateMachineName: 'Child' }),
      parentStateMachineName: 'Parent',
    });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    const template = Template.fromStack(stack).toJSON();
    expect(dependencyCycle(template)).toBeUndefined();
    expect(await failedProbes(parentPolicies(template), mapRunProbesFor({ ...PARENT_ENV, name: 'Parent' }))).toEqual(
      [],
    );
  });

  test("fromChainable: sfn.DistributedMap gets the role's exact grants and not aws-cdk-lib's DistributedMapPolicy; its S3 reader keeps aws-cdk-lib's grant", async () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Orders');
    const child = inStackChild(stack, 'ItemChild', { stateMachineName: 'ItemChild' });
    const map = new sfn.DistributedMap(stack, 'Process orders', {
      label: 'Orders',
      itemReader: new sfn.S3JsonItemReader({ bucket, key: 'orders.json' }),
    });
    map.itemProcessor(
      new tasks.StepFunctionsStartExecution(stack, 'Process order', {
        stateMachine: child,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      }),
    );
    const definitionBody = sfn.DefinitionBody.fromChainable(map);
    const { stack: built } = roleAndParent(definitionBody, {}, stack);
    const template = Template.fromStack(built);
    const json = template.toJSON();
    expect(dependencyCycle(json)).toBeUndefined();
    expect(Object.keys(json.Resources).filter((id) => id.includes('DistributedMapPolicy'))).toEqual([]);
    const parent: MapRunScenario = { ...PARENT_ENV, name: 'Parent', labels: ['Orders'] };
    const probes = [
      ...mapRunProbesFor(parent),
      ...probesFor({ ...PARENT_ENV, name: 'ItemChild', pattern: 'RUN_JOB' }, PARENT_ENV),
    ];
    expect(await failedProbes(parentPolicies(json), probes)).toEqual([]);
    // aws-cdk-lib granted the reader itself: it is not listed as a task without grant.
    const warnings = Annotations.fromStack(built).findWarning(
      '/Stack/ParentRole',
      Match.stringLikeRegexp('ItemReader'),
    );
    expect(warnings).toEqual([]);
    const statements = Object.values(policyDocuments(template)).flatMap((d: any) => d.Statement);
    expect(statements.filter((st: any) => [st.Action].flat().includes('s3:GetObject'))).toHaveLength(1);
  });

  test.each([
    ['named', 'Parent'],
    ['unnamed', undefined],
  ])(
    'a role given nothing, used by a %s fromChainable parent whose sfn.DistributedMap runs StepFunctionsStartExecution(child, RUN_JOB): synthesizes with exact grants',
    async (_name, stateMachineName) => {
      const stack = newStack();
      const child = inStackChild(stack, 'ItemChild', { stateMachineName: 'ItemChild' });
      const map = new sfn.DistributedMap(stack, 'Process orders', { label: 'Orders' });
      map.itemProcessor(
        new tasks.StepFunctionsStartExecution(stack, 'Process order', {
          stateMachine: child,
          integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        }),
      );
      const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
      new sfn.StateMachine(stack, 'Parent', {
        role: parentRole.role,
        definitionBody: sfn.DefinitionBody.fromChainable(map),
        stateMachineName,
      });
      const json = Template.fromStack(stack).toJSON();
      expect(dependencyCycle(json)).toBeUndefined();
      const policies = Object.keys(json.Resources).filter((id) => json.Resources[id].Type === 'AWS::IAM::Policy');
      // Neither aws-cdk-lib's DistributedMapPolicy nor its task statements (execution:ItemChild* without the colon).
      expect(policies.filter((id) => /DistributedMapPolicy|DefaultPolicy/.test(id))).toEqual([]);
      expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('foreignStatesGrants'))).toEqual([]);
      // An unnamed parent's name is its Name attribute (the resolver gives it its logical id).
      const parentName = stateMachineName ?? logicalIdOf(json, 'Parent');
      const probes = [
        ...mapRunProbesFor({ ...PARENT_ENV, name: parentName, labels: ['Orders'] }),
        ...probesFor({ ...PARENT_ENV, name: 'ItemChild', pattern: 'RUN_JOB' }, PARENT_ENV),
      ];
      expect(await failedProbes(parentPolicies(json), probes)).toEqual([]);
    },
  );

  /** Calls a role with only Map Run grants must not allow: no child, so no events rule and no other state machine. */
  const noChildProbes = (name: string): ProbeCase[] => [
    ...['PutTargets', 'PutRule', 'DescribeRule'].map((action): ProbeCase => ({
      label: `events:${action} on the managed rule`,
      action: `events:${action}`,
      resource: `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
      expect: 'Denied',
      needed: false,
    })),
    {
      label: 'StartExecution on a state machine of the items',
      action: 'states:StartExecution',
      resource: stateMachineArn('ItemChild'),
      expect: 'Denied',
      needed: false,
    },
    {
      label: `StartSyncExecution on ${name} itself`,
      action: 'states:StartSyncExecution',
      resource: stateMachineArn(name),
      expect: 'Denied',
      needed: false,
    },
  ];

  test.each([
    ['given (fromString)', false],
    ['derived from an sfn.DistributedMap chain', true],
  ])(
    'a definition whose only nested workflow is a Distributed Map whose items start no child (%s): only the Map Run policy, exact',
    async (_how, derived) => {
      const stack = newStack();
      const definitionBody = derived
        ? (() => {
            const map = new sfn.DistributedMap(stack, 'Process orders', { label: 'Orders' });
            map.itemProcessor(new sfn.Pass(stack, 'Order'));
            return sfn.DefinitionBody.fromChainable(map);
          })()
        : sfn.DefinitionBody.fromFile(path.join(__dirname, '..', 'definitions', 'map-runs-only.asl.json'));
      const parentRole = new NestedWorkflowRole(stack, 'ParentRole', derived ? {} : { definitionBody });
      new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, stateMachineName: 'Parent' });
      const json = Template.fromStack(stack).toJSON();
      expect(dependencyCycle(json)).toBeUndefined();
      const policies = Object.entries(json.Resources)
        .filter(([, r]: [string, any]) => ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(r.Type))
        .map(([, r]: [string, any]) => r.Properties.PolicyName ?? 'managed');
      expect(policies).toEqual(['NestedWorkflowMapRunPolicy']);
      const probes = [
        ...mapRunProbesFor({ ...PARENT_ENV, name: 'Parent', labels: ['Orders'] }),
        ...noChildProbes('Parent'),
      ];
      expect(await failedProbes(parentPolicies(json), probes)).toEqual([]);
    },
  );

  test('a definition with neither a child nor a Distributed Map still fails, saying both are missing', () => {
    const stack = newStack();
    const definitionBody = fromAsl({ StartAt: 'Order', States: { Order: { Type: 'Pass', End: true } } });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, stateMachineName: 'Parent' });
    expect(() => Template.fromStack(stack)).toThrow(
      /NestedWorkflowRole has no child state machine: .*its definition has no task that starts one, .* and no Distributed Map\)\./,
    );
  });

  test('without the definition, aws-cdk-lib keeps its own DistributedMapPolicy (never both)', () => {
    const stack = newStack();
    const map = new sfn.DistributedMap(stack, 'Process orders', { label: 'Orders' });
    map.itemProcessor(new sfn.Pass(stack, 'Order'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: inStackChild(stack, 'Child', { stateMachineName: 'Child' }),
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(map),
      stateMachineName: 'Parent',
    });
    const json = Template.fromStack(stack).toJSON();
    const policies = Object.entries(json.Resources).filter(([, r]: [string, any]) => r.Type === 'AWS::IAM::Policy');
    expect(policies.filter(([id]) => id.includes('DistributedMapPolicy'))).toHaveLength(1);
    expect(policies.filter(([id]) => id.includes('MapRunPolicy'))).toHaveLength(0);
  });
});

describe("Express children started with startExecution.sync in the parent's account", () => {
  test('an Express state machine of the app gets the Standard .sync set only: nothing on its Express executions', async () => {
    const stack = newStack();
    const express = inStackChild(stack, 'Express', {
      stateMachineName: 'Express',
      stateMachineType: sfn.StateMachineType.EXPRESS,
    });
    new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: fromAsl({
        StartAt: 'Run express',
        States: {
          'Run express': {
            Type: 'Task',
            Resource: `${START}.sync:2`,
            Parameters: { StateMachineArn: '${Express}' },
            End: true,
          },
        },
      }),
      definitionSubstitutions: { Express: express.stateMachineArn },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: Match.stringLikeRegexp('^Express') } },
          {
            Action: ['states:DescribeExecution', 'states:StopExecution'],
            Effect: 'Allow',
            Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Express:*`,
          },
          eventsStatement(),
        ],
      },
    });
    const probes = expressSyncProbesFor({ ...PARENT_ENV, name: 'Express', pattern: 'RUN_JOB' }, PARENT_ENV);
    expect(await failedProbes(parentPolicies(template.toJSON()), probes)).toEqual([]);
  });

  test('startSyncExecution on the same child still gets only StartSyncExecution', () => {
    const stack = newStack();
    const express = inStackChild(stack, 'Express', { stateMachineType: sfn.StateMachineType.EXPRESS });
    new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: fromAsl({
        StartAt: 'Run express',
        States: {
          'Run express': {
            Type: 'Task',
            Resource: 'arn:aws:states:::aws-sdk:sfn:startSyncExecution',
            Parameters: { StateMachineArn: '${Express}' },
            End: true,
          },
        },
      }),
      definitionSubstitutions: { Express: express.stateMachineArn },
    });
    const documents = Object.values(policyDocuments(Template.fromStack(stack)));
    expect(documents.flatMap((d: any) => d.Statement.map((s: any) => s.Action))).toEqual(['states:StartSyncExecution']);
  });
});

describe('Express parents', () => {
  const requestResponseAndStandardMap = () =>
    fromAsl({
      StartAt: 'Start child',
      States: {
        'Start child': {
          Type: 'Task',
          Resource: START,
          Parameters: { StateMachineArn: stateMachineArn('Child') },
          Next: 'Map',
        },
        Map: {
          ...distributedMap('Child', { Label: 'Items' }),
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'Run child',
            States: {
              'Run child': {
                Type: 'Task',
                Resource: `${START}.sync`,
                Parameters: { StateMachineArn: stateMachineArn('Child') },
                End: true,
              },
            },
          },
        },
      },
    });

  test('request-response tasks, and .sync inside a STANDARD Distributed Map, are accepted in an Express parent', async () => {
    const stack = newStack();
    const definitionBody = requestResponseAndStandardMap();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody,
      parentStateMachineType: sfn.StateMachineType.EXPRESS,
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody,
      stateMachineName: 'Parent',
      stateMachineType: sfn.StateMachineType.EXPRESS,
    });
    const template = Template.fromStack(stack).toJSON();
    const probes = [
      ...probesFor({ ...PARENT_ENV, name: 'Child', pattern: 'RUN_JOB' }, PARENT_ENV),
      ...mapRunProbesFor({ ...PARENT_ENV, name: 'Parent', labels: ['Items'] }),
    ];
    expect(await failedProbes(parentPolicies(template), probes)).toEqual([]);
  });

  test('an L1 CfnStateMachine of type EXPRESS using the role fails synthesis for a .waitForTaskToken task', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: fromAsl({
        StartAt: 'Wait',
        States: {
          Wait: {
            Type: 'Task',
            Resource: `${START}.waitForTaskToken`,
            Parameters: { StateMachineArn: stateMachineArn('Child') },
            End: true,
          },
        },
      }),
    });
    new sfn.CfnStateMachine(stack, 'Parent', {
      roleArn: parentRole.role.roleArn,
      stateMachineType: 'EXPRESS',
      definitionString: '{}',
    });
    expect(() => Template.fromStack(stack)).toThrow(
      /the parent state machine Stack\/Parent that uses this role is EXPRESS, but state 'Wait' \(arn:aws:states:::states:startExecution\.waitForTaskToken\) waits for a job or a callback/,
    );
  });
});

describe('errors', () => {
  test('a .sync task in the Express child workflow executions of a Distributed Map', () => {
    expect(() =>
      roleAndParent(
        fromAsl({
          StartAt: 'Map',
          States: {
            Map: {
              ...distributedMap('Child', { Label: 'Items' }, 'EXPRESS'),
              ItemProcessor: {
                ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
                StartAt: 'Run child',
                States: {
                  'Run child': {
                    Type: 'Task',
                    Resource: `${START}.sync`,
                    Parameters: { StateMachineArn: stateMachineArn('Child') },
                    End: true,
                  },
                },
              },
            },
          },
        }),
      ),
    ).toThrow(
      /state 'Run child' \(arn:aws:states:::states:startExecution\.sync\) waits for a job or a callback, but it runs in the Express child workflow executions of Distributed Map 'Map' \(ItemProcessor\.ProcessorConfig\.ExecutionType: EXPRESS\), .*or ExecutionType STANDARD\./,
    );
  });

  test('a .waitForTaskToken task of another service in an Express Distributed Map of a chain', () => {
    const stack = newStack();
    const map = new sfn.DistributedMap(stack, 'Map', { mapExecutionType: sfn.StateMachineType.EXPRESS });
    map.itemProcessor(
      new sfn.CustomState(stack, 'Wait', {
        stateJson: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken', End: true },
      }),
    );
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: sfn.DefinitionBody.fromChainable(map),
          parentStateMachineName: 'Parent',
        }),
    ).toThrow(
      /state 'Wait' \(arn:aws:states:::sqs:sendMessage\.waitForTaskToken\) waits for a job or a callback, but it runs in the Express child workflow executions of Distributed Map 'Map'/,
    );
  });

  test.each(['Orders*', 'two words', 'a/b', 'x'.repeat(41)])(
    'a Map Run Label an IAM policy cannot scope to: %s',
    (label) => {
      expect(() =>
        roleAndParent(fromAsl({ StartAt: 'Map', States: { Map: distributedMap('Child', { Label: label }) } })),
      ).toThrow(
        `the Label of Distributed Map 'Map' must be 1-40 characters without white space, wildcards (* ?) or any of <>{}[]"#%\\^|~\`$&,;:/, got: ${label}.`,
      );
    },
  );

  test('a Distributed Map whose parent is unknown: no state machine uses the role, no parentStateMachineName', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: fromAsl({ StartAt: 'Map', States: { Map: distributedMap('Child') } }),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      /Distributed Map 'Map' runs child workflow executions of the parent state machine itself, so the role needs the parent's ARN, but no state machine of the app uses this role\. Pass the role to the parent .*or set `parentStateMachineName`\./,
    );
  });

  test('a Distributed Map whose role two state machines use', () => {
    const definitionBody = fromAsl({ StartAt: 'Map', States: { Map: distributedMap('Child') } });
    const { stack, parentRole } = roleAndParent(definitionBody);
    new sfn.StateMachine(stack, 'Other', { role: parentRole.role, definitionBody });
    expect(() => Template.fromStack(stack)).toThrow(
      /but 2 state machines use this role \(Stack\/Parent, Stack\/Other\)\. Give each parent its own NestedWorkflowRole, or set `parentStateMachineName`/,
    );
  });

  test("addDefinition with an sfn.DistributedMap after the parent was created with the role: aws-cdk-lib's DistributedMapPolicy is held back until synthesis, then left out", () => {
    const stack = newStack();
    const map = new sfn.DistributedMap(stack, 'Map');
    map.itemProcessor(new sfn.Pass(stack, 'Item'));
    const definitionBody = sfn.DefinitionBody.fromChainable(map);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: inStackChild(stack, 'Child'),
    });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, stateMachineName: 'Parent' });
    parentRole.addDefinition(definitionBody);
    const json = Template.fromStack(stack).toJSON();
    const policies = Object.keys(json.Resources).filter((id) => json.Resources[id].Type === 'AWS::IAM::Policy');
    expect(policies.filter((id) => id.includes('DistributedMapPolicy'))).toEqual([]);
    expect(policies.filter((id) => id.includes('MapRunPolicy'))).toHaveLength(1);
  });
});

describe('deep definitions', () => {
  test('5,000 nested Parallel states (about 400 KB, within the 1 MB definition quota) are read without RangeError', async () => {
    const depth = 5_000;
    const task = JSON.stringify({
      StartAt: 'Deep',
      States: {
        Deep: { Type: 'Task', Resource: START, Parameters: { StateMachineArn: stateMachineArn('Deep') }, End: true },
      },
    });
    // Built as text: JSON.stringify itself recurses, and would overflow the stack first.
    let text = '';
    for (let i = depth - 1; i >= 0; i--) {
      text += `{"StartAt":"P${i}","States":{"P${i}":{"Type":"Parallel","End":true,"Branches":[`;
    }
    text += task + ']}}}'.repeat(depth);
    expect(text.length).toBeLessThan(1024 * 1024);
    const stack = newStack();
    const started = Date.now();
    new NestedWorkflowRole(stack, 'ParentRole', { definitionBody: sfn.DefinitionBody.fromString(text) });
    expect(Date.now() - started).toBeLessThan(5_000);
    const template = Template.fromStack(stack).toJSON();
    const child: ChildScenario = { ...PARENT_ENV, name: 'Deep', pattern: 'REQUEST_RESPONSE' };
    const probes = probesFor(child, PARENT_ENV).filter((p) => !p.action.startsWith('events:'));
    expect(await failedProbes(parentPolicies(template), probes)).toEqual([]);
  });

  // aws-cdk-lib's own StateGraph binding recurses and overflows at this depth: the reader must not be the limit.
  test('a chain of 2,000 nested Parallel states is read without RangeError', () => {
    const stack = newStack();
    let inner: sfn.IChainable = new tasks.StepFunctionsStartExecution(stack, 'Deep', {
      stateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'DeepChild', stateMachineArn('Deep')),
    });
    for (let i = 0; i < 2_000; i++) inner = new sfn.Parallel(stack, `P${i}`).branch(inner);
    const read = readDefinition('Stack/ParentRole', sfn.DefinitionBody.fromChainable(inner));
    expect(read.nested.map((t) => [t.stateName, t.stateMachineArn])).toEqual([['Deep', stateMachineArn('Deep')]]);
  });
});
