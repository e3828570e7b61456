/**
 * The checks' findings match what IAM decides (issue 18, items 1-7): for each template, every call the parent needs
 * that the IAM simulator denies is an NWR1 finding and no call it allows is; every NWR2 example is a call the
 * simulator allows; where NWR2 is silent, the simulator denies every near miss.
 */
import { checkTemplate, readParents } from '../../lib/private/checks/engine';
import { nearMisses } from '../../lib/private/checks/near-misses';
import { describeCall } from '../../lib/private/checks/parent-check';
import { RequiredCall } from '../../lib/private/checks/required-calls';
import { JsonObject } from '../../lib/private/model/json';
import { TemplateEnv, TemplateReader } from '../../lib/private/read/template-reader';
import { rolePolicies, simulate } from '../util/simulator';

const ENV = { partition: 'aws', region: 'us-east-1', account: '111111111111' };
const ARN = (service: string, rest: string, region = ENV.region) =>
  ['arn', ENV.partition, service, region, ENV.account, rest].join(':');
const CHILD = ARN('states', 'stateMachine:Child');
const EXECUTIONS = ARN('states', 'execution:Child:*');
const RULE = ARN('events', 'rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
const EVENTS = ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'];
const EXACT = [
  { Effect: 'Allow', Action: 'states:StartExecution', Resource: CHILD },
  { Effect: 'Allow', Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: EXECUTIONS },
  { Effect: 'Allow', Action: EVENTS, Resource: RULE },
];

function definition(parameters: JsonObject, resource = 'startExecution.sync', extra: JsonObject = {}): string {
  return JSON.stringify({
    StartAt: 'Run',
    States: {
      Run: {
        Type: 'Task',
        Resource: `arn:aws:states:::states:${resource}`,
        Parameters: parameters,
        End: true,
        ...extra,
      },
    },
  });
}

/** A template: role `Role` with one inline policy, parent `Parent` (depending on the role), extra resources. */
function template(opts: {
  statements: object[];
  definition?: unknown;
  role?: JsonObject;
  parent?: JsonObject;
  extra?: JsonObject;
  parameters?: JsonObject;
}): JsonObject {
  return JSON.parse(
    JSON.stringify({
      Parameters: opts.parameters,
      Resources: {
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: {},
            Policies: [{ PolicyName: 'P', PolicyDocument: { Version: '2012-10-17', Statement: opts.statements } }],
            ...opts.role,
          },
        },
        Parent: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
            DefinitionString: opts.definition ?? definition({ StateMachineArn: CHILD }),
            ...opts.parent,
          },
        },
        ...opts.extra,
      },
    }),
  );
}

function check(t: JsonObject, env: TemplateEnv = ENV) {
  const reader = new TemplateReader(t, env);
  return { findings: checkTemplate(reader), calls: readParents(reader)[0]?.calls ?? [] };
}

async function simulated(t: JsonObject, call: { action: string; resource: string; context?: any }, env = ENV) {
  return simulate(rolePolicies(t, 'Role', env), call, env);
}

/** NWR1 lists exactly the calls the simulator denies. */
async function expectMissingAsSimulated(t: JsonObject, calls: RequiredCall[], nwr1: string[], env = ENV) {
  const text = nwr1.join('\n');
  for (const call of calls) {
    const decision = await simulated(t, call, env);
    if (decision === 'Allowed') expect(text).not.toContain(describeCall(call));
    else expect(text).toContain(describeCall(call));
  }
}

const messages = (findings: ReturnType<typeof check>['findings'], id: string) =>
  findings.filter((f) => f.rule.id === id).map((f) => f.message);

describe('the checks decide as IAM does', () => {
  test.each([
    ['StateMachineArn.$ (chosen at run time)', definition({ 'StateMachineArn.$': '$.child' }), undefined],
    [
      'a parameter without Default',
      { 'Fn::Sub': definition({ StateMachineArn: '${ChildArn}' }) },
      { ChildArn: { Type: 'String' } },
    ],
    [
      'Fn::ImportValue',
      {
        'Fn::Join': [
          '',
          [
            definition({ StateMachineArn: 'X' }).split('"X"')[0],
            '"',
            { 'Fn::ImportValue': 'ChildArn' },
            '"',
            definition({ StateMachineArn: 'X' }).split('"X"')[1],
          ],
        ],
      },
      undefined,
    ],
  ])(
    'a .sync task whose child is unknown (%s) still needs the events grant: NWR1 for it, NWR4 for the child',
    async (_name, def, parameters) => {
      const t = template({
        statements: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: '*' }],
        definition: def,
        parameters,
      });
      const { findings, calls } = check(t);
      expect(calls.map((c) => c.action)).toEqual(EVENTS);
      const nwr1 = messages(findings, 'NWR1');
      expect(nwr1).toHaveLength(1);
      await expectMissingAsSimulated(t, calls, nwr1);
      expect(messages(findings, 'NWR4')).toEqual([expect.stringContaining("state 'Run'")]);
    },
  );

  test('a permissions boundary in the template that leaves out StopExecution: NWR1 for it, as the simulator decides', async () => {
    const boundary = {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['states:StartExecution', 'states:DescribeExecution', 'events:*'],
              Resource: '*',
            },
          ],
        },
      },
    };
    const t = template({
      statements: EXACT,
      role: { PermissionsBoundary: { Ref: 'Boundary' } },
      extra: { Boundary: boundary },
    });
    const { findings, calls } = check(t);
    const nwr1 = messages(findings, 'NWR1');
    expect(nwr1).toEqual([
      `The role Role does not allow: states:StopExecution on ${ARN('states', 'execution:Child:example-execution-id')} (state 'Run') (not allowed by the permissions boundary).`,
    ]);
    await expectMissingAsSimulated(t, calls, nwr1);
  });

  test('a permissions boundary in the template with a condition the checks do not evaluate: NWR4, not a guess', () => {
    const boundary = {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: '*',
              Resource: '*',
              Condition: { StringEquals: { 'aws:PrincipalTag/team': 'a' } },
            },
          ],
        },
      },
    };
    const t = template({
      statements: EXACT,
      role: { PermissionsBoundary: { Ref: 'Boundary' } },
      extra: { Boundary: boundary },
    });
    const { findings } = check(t);
    expect(findings.map((f) => f.rule.id)).toEqual(['NWR4']);
    expect(findings[0].message).toContain('(in the permissions boundary)');
  });

  test('a permissions boundary outside the template: a missing grant is NWR1 (a boundary only takes away), a complete role NWR4', async () => {
    const role = { PermissionsBoundary: `arn:aws:iam::${ENV.account}:policy/Boundary` };
    const missing = template({ statements: EXACT.slice(0, 1), role });
    const first = check(missing);
    // The simulator on the policies alone (the boundary is not in the template): what it denies, a boundary cannot allow.
    const policies = rolePolicies(missing, 'Role', ENV);
    for (const call of first.calls.slice(1)) expect(await simulate(policies, call, ENV)).not.toBe('Allowed');
    expect(messages(first.findings, 'NWR1')).toEqual([expect.stringContaining(describeCall(first.calls[1]))]);

    const complete = check(template({ statements: EXACT, role }));
    expect(complete.findings.map((f) => `${f.rule.id}: ${f.message}`)).toEqual([
      expect.stringMatching(
        /^NWR4: The role's policies allow states:StartExecution .* but the permissions boundary arn:aws:iam::111111111111:policy\/Boundary is not in the template/,
      ),
    ]);
  });

  test("a qualified ARN (Fn::Join of the child's Ref and :7) of an Express child the template defines is read as that child: the Standard .sync set with its qualifier", async () => {
    const arn = { 'Fn::Join': ['', [{ Ref: 'Child' }, ':7']] };
    const def = {
      'Fn::Join': [
        '',
        [
          definition({ StateMachineArn: 'X' }, 'startExecution.sync:2').split('"X"')[0],
          '"',
          arn,
          '"',
          definition({ StateMachineArn: 'X' }, 'startExecution.sync:2').split('"X"')[1],
        ],
      ],
    };
    const child = {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { StateMachineName: 'Child', StateMachineType: 'EXPRESS', RoleArn: 'x', DefinitionString: '{}' },
    };
    const t = template({ statements: EXACT, definition: def, extra: { Child: child } });
    const { findings, calls } = check(t);
    // An Express child started with .sync gets the Standard .sync set (issue 17): never its express: executions.
    expect(calls.map((c) => c.resource).filter((r) => r.includes(':express:'))).toEqual([]);
    expect(calls).toContainEqual(
      expect.objectContaining({
        action: 'states:StartExecution',
        resource: ARN('states', 'stateMachine:Child'),
        context: { 'states:StateMachineQualifier': '7' },
      }),
    );
    const nwr1 = messages(findings, 'NWR1');
    expect(nwr1).toEqual([]);
    await expectMissingAsSimulated(t, calls, nwr1);
  });

  test('Allow StartExecution on * with a Deny NotResource of the exact ARNs: no NWR2, and the simulator denies every near miss', async () => {
    const statements = [
      {
        Effect: 'Allow',
        Action: ['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution', ...EVENTS],
        Resource: '*',
      },
      {
        Effect: 'Deny',
        Action: ['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution', ...EVENTS],
        NotResource: [CHILD, EXECUTIONS, RULE],
      },
    ];
    const t = template({ statements });
    const { findings, calls } = check(t);
    expect(findings).toEqual([]);
    for (const miss of calls.flatMap(nearMisses)) {
      expect([describeCall(miss), await simulated(t, miss)]).toEqual([
        describeCall(miss),
        expect.stringMatching(/Denied$/),
      ]);
    }
  });

  const ROLE_X = (account: string) => `arn:aws:iam::${account}:role/X`;
  test.each([
    [
      'sts:AssumeRole on a role of that name in any account',
      [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ROLE_X('*') }],
      definition({ StateMachineArn: CHILD }, 'startExecution', { Credentials: { RoleArn: ROLE_X('222222222222') } }),
      'sts:AssumeRole on arn:aws:iam::999999999999:role/X',
    ],
    [
      'stateMachine:*Child',
      [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: ARN('states', 'stateMachine:*Child') }],
      definition({ StateMachineArn: CHILD }, 'startExecution'),
      'stateMachine:OtherChild',
    ],
    [
      'stateMachine:Child?',
      [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: [CHILD, ARN('states', 'stateMachine:Child?')] }],
      definition({ StateMachineArn: CHILD }, 'startExecution'),
      'stateMachine:Child2',
    ],
    [
      'states:Start*',
      [{ Effect: 'Allow', Action: 'states:Start*', Resource: CHILD }],
      definition({ StateMachineArn: CHILD }, 'startExecution'),
      `states:StartSyncExecution on ${CHILD}`,
    ],
    [
      'states:* on executions',
      [EXACT[0], EXACT[2], { Effect: 'Allow', Action: 'states:*', Resource: EXECUTIONS }],
      undefined,
      'states:RedriveExecution on arn:aws:states:us-east-1:111111111111:execution:Child:example-execution-id',
    ],
  ])('NWR2 for %s, with an example the simulator allows', async (_name, statements, def, example) => {
    const t = template({ statements, definition: def });
    const { findings } = check(t);
    const nwr2 = findings.filter((f) => f.rule.id === 'NWR2');
    expect(nwr2.map((f) => f.message)).toEqual([expect.stringContaining(example)]);
    expect(findings.filter((f) => f.rule.severity === 'error')).toEqual([]);
    const call = /also allows (\S+) on (\S+)/.exec(nwr2[0].message)!;
    expect(await simulated(t, { action: call[1], resource: call[2] })).toBe('Allowed');
  });

  test('an unknown account: denied implicitly in one world and explicitly in another is denied (NWR1, not NWR4)', async () => {
    const statements = [
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:Other' },
      },
      { Effect: 'Deny', Action: 'states:StartExecution', Resource: CHILD },
    ];
    const def = {
      'Fn::Sub': definition(
        { StateMachineArn: 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:Child' },
        'startExecution',
      ),
    };
    const t = template({ statements, definition: def });
    const { findings } = check(t, { partition: 'aws', region: 'us-east-1' });
    expect(findings.map((f) => f.rule.id)).toEqual(['NWR1']);
    for (const account of [ENV.account, '222222222222']) {
      const env = { ...ENV, account };
      const call = {
        action: 'states:StartExecution',
        resource: `arn:aws:states:us-east-1:${account}:stateMachine:Child`,
      };
      expect(await simulate(rolePolicies(t, 'Role', env), call, env)).not.toBe('Allowed');
    }
  });

  test.each([
    ['Fn::If', { 'Fn::If': ['IsProd', definition({ StateMachineArn: CHILD }), '{}'] }, 'Fn::If'],
    [
      'Fn::ToJsonString',
      { 'Fn::ToJsonString': JSON.parse(definition({ StateMachineArn: CHILD })) },
      'Fn::ToJsonString',
    ],
    ['Fn::ImportValue', { 'Fn::ImportValue': 'ParentDefinition' }, 'Fn::ImportValue ParentDefinition'],
    [
      'Fn::FindInMap without the entry',
      { 'Fn::FindInMap': ['Definitions', 'prod', 'Parent'] },
      'Fn::FindInMap Definitions.prod.Parent',
    ],
    ['a parameter without Default', { Ref: 'Definition' }, 'the parameter Definition (no Default)'],
  ])('a DefinitionString the checks cannot read (%s): NWR4 naming the state machine', (_name, def, named) => {
    const t = template({ statements: EXACT, definition: def, parameters: { Definition: { Type: 'String' } } });
    expect(check(t).findings.map((f) => `${f.rule.id} ${f.parent}: ${f.message}`)).toEqual([
      `NWR4 Parent: The definition of Parent is not known at synthesis (${named}): the checks cannot read it, so what its role needs is not checked. Give the definition as a literal (DefinitionString, Definition) or check it by hand.`,
    ]);
  });

  test('a parent naming its role by a literal RoleArn, the events grant inline in the role: NWR1 without DependsOn', () => {
    const roleArn = `arn:aws:iam::${ENV.account}:role/ParentRole`;
    const t = template({ statements: EXACT, role: { RoleName: 'ParentRole' }, parent: { RoleArn: roleArn } });
    expect(messages(check(t).findings, 'NWR1')).toEqual([
      expect.stringContaining(
        'The parent starts a .sync child but does not depend on Role, which holds the events grant',
      ),
    ]);
    (t.Resources as any).Parent.DependsOn = 'Role';
    expect(check(t).findings).toEqual([]);
  });
});
