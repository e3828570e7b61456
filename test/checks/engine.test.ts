import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkAppTemplates } from '../../lib/private/checks/app';
import { checkTemplate, readParents } from '../../lib/private/checks/engine';
import { JsonObject } from '../../lib/private/model/json';
import { TemplateReader } from '../../lib/private/read/template-reader';

const ENV = { partition: 'aws', region: 'us-east-1', account: '111111111111' };
const CHILD = 'arn:aws:states:us-east-1:111111111111:stateMachine:Child';
const EXACT = [
  { Effect: 'Allow', Action: 'states:StartExecution', Resource: CHILD },
  {
    Effect: 'Allow',
    Action: ['states:DescribeExecution', 'states:StopExecution'],
    Resource: 'arn:aws:states:us-east-1:111111111111:execution:Child:*',
  },
  {
    Effect: 'Allow',
    Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
    Resource: 'arn:aws:events:us-east-1:111111111111:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
  },
];

function definition(resource = 'startExecution.sync', arn = CHILD): string {
  return JSON.stringify({
    StartAt: 'Run',
    States: {
      Run: {
        Type: 'Task',
        Resource: `arn:aws:states:::states:${resource}`,
        Parameters: { StateMachineArn: arn },
        End: true,
      },
    },
  });
}

/** A template with a role `Role`, a parent `Parent` and extra resources. */
function template(parent: { [key: string]: unknown }, role: JsonObject = {}, extra: JsonObject = {}): JsonObject {
  return {
    Resources: {
      Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {}, ...role } },
      Parent: {
        Type: 'AWS::StepFunctions::StateMachine',
        // JSON drops the properties set to undefined.
        Properties: JSON.parse(
          JSON.stringify({ RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] }, DefinitionString: definition(), ...parent }),
        ),
      },
      ...extra,
    },
  };
}

const findings = (t: JsonObject) =>
  checkTemplate(new TemplateReader(t, ENV)).map((f) => `${f.rule.id} ${f.parent}: ${f.message}`);

describe('which parents are checked: the reader decides, not a second copy of its patterns', () => {
  test('a task whose Resource is a definition substitution is checked (the pre-filter had missed it)', () => {
    const t = template({
      DefinitionString: JSON.stringify({
        StartAt: 'Run',
        States: { Run: { Type: 'Task', Resource: '${RunChild}', Parameters: { StateMachineArn: CHILD }, End: true } },
      }),
      DefinitionSubstitutions: { RunChild: 'arn:aws:states:::states:startExecution.sync' },
    });
    expect(findings(t)).toEqual([
      expect.stringMatching(
        /^NWR1 Parent: The role Role does not allow: states:StartExecution on arn:aws:states:us-east-1:111111111111:stateMachine:Child \(state 'Run'\)/,
      ),
    ]);
  });

  test('a definition without a nested workflow, a Distributed Map or (Express) a waiting task is not a parent', () => {
    const t = template({
      DefinitionString: JSON.stringify({
        StartAt: 'Run',
        States: { Run: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', End: true } },
      }),
    });
    expect(readParents(new TemplateReader(t, ENV))).toEqual([]);
  });
});

describe('the checks on hand-written templates', () => {
  test('a managed policy of the template in ManagedPolicyArns, on which the parent depends through Fn::Sub: no finding', () => {
    const t = template(
      { DefinitionString: { 'Fn::Sub': [definition(), { Unused: { 'Fn::Sub': '${Grants}' } }] } },
      { ManagedPolicyArns: [{ Ref: 'Grants' }] },
      { Grants: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Statement: EXACT } } } },
    );
    expect(findings(t)).toEqual([]);
  });

  test('an AWS::IAM::RolePolicy and a Definition object: the role is read; a parent not depending on it is reported', () => {
    const t = template(
      { DefinitionString: undefined, Definition: JSON.parse(definition()) },
      {},
      {
        Grants: {
          Type: 'AWS::IAM::RolePolicy',
          Properties: { RoleName: { Ref: 'Role' }, PolicyDocument: { Statement: EXACT } },
        },
      },
    );
    expect(findings(t)).toEqual([
      expect.stringMatching(/^NWR1 Parent: The parent starts a \.sync child but does not depend on Grants/),
    ]);
  });

  test('a permissions boundary outside the template cannot add a grant: missing calls stay NWR1', () => {
    const t = template({}, { PermissionsBoundary: 'arn:aws:iam::111111111111:policy/Boundary' });
    expect(findings(t)).toEqual([
      expect.stringMatching(/^NWR1 Parent: The role Role does not allow: states:StartExecution on /),
    ]);
  });

  test('an explicit Deny is reported as missing, with the reason', () => {
    const t = template(
      {},
      {
        Policies: [
          {
            PolicyName: 'P',
            PolicyDocument: {
              Statement: [...EXACT, { Effect: 'Deny', Action: 'states:StopExecution', Resource: '*' }],
            },
          },
        ],
      },
    );
    expect(findings(t)).toEqual([
      expect.stringContaining(
        "states:StopExecution on arn:aws:states:us-east-1:111111111111:execution:Child:example-execution-id (state 'Run') (explicitly denied)",
      ),
    ]);
  });

  test('a definition the engine refuses, a child that is not a state machine, a definition in S3 outside a cloud assembly: undecidable', () => {
    expect(
      findings(
        template({
          DefinitionString:
            '{"States": {"Run": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution"}}}',
        }),
      ),
    ).toEqual([
      "NWR4 Parent: Parent: state 'Run' starts a child state machine (arn:aws:states:::states:startExecution) but has no Parameters.StateMachineArn. Name the child in Parameters.StateMachineArn.",
    ]);
    expect(
      findings(
        template({
          DefinitionString: definition('startExecution', 'arn:aws:states:us-east-1:111111111111:activity:Worker'),
        }),
      ),
    ).toEqual([expect.stringMatching(/^NWR4 Parent: the StateMachineArn of state 'Run' must be a state machine ARN/)]);
    expect(
      findings(template({ DefinitionString: undefined, DefinitionS3Location: { Bucket: 'b', Key: 'k.json' } })),
    ).toEqual([
      'NWR4 Parent: The definition is in S3 (k.json), not in the template or its cloud assembly: it cannot be read.',
    ]);
  });

  test('state machines that start no child, or have no definition, are not checked', () => {
    expect(
      findings(template({ DefinitionString: '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}' })),
    ).toEqual([]);
    expect(findings(template({ DefinitionString: undefined }))).toEqual([]);
  });

  test('a statement whose Resource is not a string may allow the call: undecidable', () => {
    const t = template(
      {},
      {
        Policies: [
          {
            PolicyName: 'P',
            PolicyDocument: {
              Statement: [{ Effect: 'Allow', Action: 'states:*', Resource: [{ Unresolvable: true }] }],
            },
          },
        ],
      },
    );
    expect(findings(t)[0]).toMatch(
      /^NWR4 Parent: Whether the role allows states:StartExecution on .* cannot be decided/,
    );
  });

  test('templates checked outside an app: the partition is not known, so arn:aws is reported', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwr-engine-'));
    try {
      const file = path.join(dir, 'Stack.template.json');
      fs.writeFileSync(
        file,
        JSON.stringify(
          template({}, { Policies: [{ PolicyName: 'P', PolicyDocument: { Statement: EXACT.slice(0, 1) } }] }),
        ),
      );
      expect(checkAppTemplates([file], undefined).map((f) => f.rule.id)).toEqual(['NWR3', 'NWR1']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a child in another account through Credentials, an Express child run synchronously or from the template, a JSONata child chosen at run time', () => {
    const role = 'arn:aws:iam::222222222222:role/Starter';
    const t = template(
      {
        DefinitionString: JSON.stringify({
          StartAt: 'Remote',
          States: {
            Remote: {
              Type: 'Task',
              Resource: 'arn:aws:states:::states:startExecution.sync',
              Credentials: { RoleArn: role },
              Parameters: { StateMachineArn: 'arn:aws:states:us-east-1:222222222222:stateMachine:Remote' },
              Next: 'Fast',
            },
            Fast: {
              Type: 'Task',
              Resource: 'arn:aws:states:::aws-sdk:sfn:startSyncExecution',
              Parameters: { StateMachineArn: 'arn:aws:states:us-east-1:111111111111:stateMachine:Fast' },
              Next: 'Express',
            },
            Express: {
              Type: 'Task',
              Resource: 'arn:aws:states:::states:startExecution',
              Parameters: { StateMachineArn: { Ref: 'ExpressChild' } },
              Next: 'Chosen',
            },
            Chosen: {
              Type: 'Task',
              QueryLanguage: 'JSONata',
              Resource: 'arn:aws:states:::states:startExecution',
              Arguments: '{% $states.input.child %}',
              End: true,
            },
          },
        }).replace('{"Ref":"ExpressChild"}', '"${ExpressArn}"'),
        DefinitionSubstitutions: { ExpressArn: { Ref: 'ExpressChild' } },
      },
      {
        Policies: [
          {
            PolicyName: 'P',
            PolicyDocument: {
              Statement: [
                { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::222222222222:role/Start*' },
                {
                  Effect: 'Allow',
                  Action: 'states:Start*',
                  Resource: 'arn:aws:states:us-east-1:111111111111:stateMachine:*',
                },
              ],
            },
          },
        ],
      },
      {
        ExpressChild: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: { StateMachineName: 'ExpressChild', StateMachineType: 'EXPRESS', DefinitionString: '{}' },
        },
      },
    );
    const [parent] = readParents(new TemplateReader(t, ENV));
    expect(parent.calls.map((c) => `${c.kind} ${c.action} ${c.resource}`)).toEqual([
      `assumeRole sts:AssumeRole ${role}`,
      'start states:StartSyncExecution arn:aws:states:us-east-1:111111111111:stateMachine:Fast',
      'start states:StartExecution arn:aws:states:us-east-1:111111111111:stateMachine:ExpressChild',
    ]);
    expect(parent.undecidable).toEqual([
      `state 'Chosen' chooses its child at run time ("Arguments": "{% $states.input.child %}"): which state machines it may start is not in the template`,
    ]);
    const found = findings(t);
    expect(found.filter((f) => f.startsWith('NWR2'))).toEqual([
      expect.stringContaining(`also allows sts:AssumeRole on ${role}Admin`),
      expect.stringContaining(
        'also allows states:StartSyncExecution on arn:aws:states:us-east-1:111111111111:stateMachine:FastAdmin',
      ),
    ]);
  });
});

describe('the checks on deep and hostile templates', () => {
  test('a Definition object nested 600 levels deep is checked (a finding, no stack overflow)', () => {
    let input: JsonObject = { leaf: true };
    for (let i = 0; i < 600; i++) input = { x: input };
    const parsed = JSON.parse(definition());
    parsed.States.Run.Parameters.Input = input;
    const t = template({ DefinitionString: undefined, Definition: parsed });
    expect(findings(t)).toEqual([expect.stringMatching(/^NWR1 Parent: The role Role does not allow: /)]);
  });

  test('a null resource: an error naming the template and the resource', () => {
    expect(() => checkTemplate(new TemplateReader({ Resources: { X: null } }, ENV, 'x.template.json'))).toThrow(
      'the resource X of x.template.json must be an object with a Type, got: null',
    );
  });
});
