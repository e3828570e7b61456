import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole } from '../../lib';
import { readDefinition } from '../../lib/private/read/definition';
import {
  ACCOUNT,
  eventsStatement,
  newStack,
  PARTITION,
  policyDocuments,
  REGION,
  stateMachineArn,
} from '../util/fixtures';
import { ChildScenario, ProbeCase, probesFor } from '../util/probes';
import { simulate, verdict, parentRolePolicies } from '../util/simulator';

const PARENT_ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };
const START = 'arn:aws:states:::states:startExecution';
const A = stateMachineArn('ChildA');
const B = stateMachineArn('ChildB');

/** The children (ARNs) each state of a definition starts, as the reader finds them; `runtime` for a run-time child. */
function children(definition: object, substitutions?: { [key: string]: string }): Array<[string, string]> {
  const read = readDefinition(
    'Stack/ParentRole',
    sfn.DefinitionBody.fromString(JSON.stringify(definition)),
    substitutions,
  );
  return read.nested.map((t) => [t.stateName, t.stateMachineArn ?? `runtime ${t.runtimeArn}`]);
}

const jsonPathTask = (next?: string) => ({
  Type: 'Task',
  Resource: START,
  Parameters: { 'StateMachineArn.$': '$childArn' },
  ...(next ? { Next: next } : { End: true }),
});
const jsonataTask = { Type: 'Task', Resource: START, Arguments: { StateMachineArn: '{% $childArn %}' }, End: true };

describe('workflow variables that name the child', () => {
  test('JSONPath: a Pass assigns the ARN, the task reads "StateMachineArn.$": "$childArn"', () => {
    expect(
      children({
        StartAt: 'Pick',
        States: { Pick: { Type: 'Pass', Assign: { childArn: A }, Next: 'Run' }, Run: jsonPathTask() },
      }),
    ).toEqual([['Run', A]]);
  });

  test('JSONata: "{% $childArn %}", assigned a literal or a JSONata string literal', () => {
    expect(
      children({
        QueryLanguage: 'JSONata',
        StartAt: 'Pick',
        States: { Pick: { Type: 'Pass', Assign: { childArn: `{% '${B}' %}` }, Next: 'Run' }, Run: jsonataTask },
      }),
    ).toEqual([['Run', B]]);
  });

  test('a ${Placeholder} value is substituted like a literal ARN', () => {
    expect(
      children(
        {
          StartAt: 'Pick',
          States: { Pick: { Type: 'Pass', Assign: { childArn: '${ChildArn}' }, Next: 'Run' }, Run: jsonPathTask() },
        },
        { ChildArn: B },
      ),
    ).toEqual([['Run', B]]);
  });

  test('Choice rules and Default assign different children: the task starts each', () => {
    expect(
      children({
        StartAt: 'Choose',
        States: {
          Choose: {
            Type: 'Choice',
            Choices: [{ Variable: '$.big', BooleanEquals: true, Assign: { childArn: A }, Next: 'Run' }],
            Default: 'Small',
          },
          Small: { Type: 'Pass', Assign: { childArn: B }, Next: 'Run' },
          Run: jsonPathTask(),
        },
      }),
    ).toEqual([
      ['Run', A],
      ['Run', B],
    ]);
  });

  test("a Catcher's Assign reaches its Next state; the failing state's own Assign does not", () => {
    expect(
      children({
        StartAt: 'Try',
        States: {
          Try: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Assign: { childArn: A },
            Catch: [{ ErrorEquals: ['States.ALL'], Assign: { childArn: B }, Next: 'Recover' }],
            Next: 'Done',
          },
          Done: { Type: 'Succeed' },
          Recover: jsonPathTask(),
        },
      }),
    ).toEqual([['Recover', B]]);
  });

  test('a variable reassigned before the task: only the value that reaches it', () => {
    expect(
      children({
        StartAt: 'First',
        States: {
          First: { Type: 'Pass', Assign: { childArn: A }, Next: 'Second' },
          Second: { Type: 'Pass', Assign: { childArn: B }, Next: 'Run' },
          Run: jsonPathTask(),
        },
      }),
    ).toEqual([['Run', B]]);
  });

  test("a task's own Assign takes effect after it: the task reads the value on entry", () => {
    expect(
      children({
        StartAt: 'Pick',
        States: {
          Pick: { Type: 'Pass', Assign: { childArn: A }, Next: 'Run' },
          Run: { ...jsonPathTask(), Assign: { childArn: B } },
        },
      }),
    ).toEqual([['Run', A]]);
  });

  test('a copy of another variable ("childArn.$": "$base") holds what that one holds', () => {
    expect(
      children({
        StartAt: 'Base',
        States: {
          Base: { Type: 'Pass', Assign: { base: A }, Next: 'Copy' },
          Copy: { Type: 'Pass', Assign: { 'childArn.$': '$base' }, Next: 'Run' },
          Run: jsonPathTask(),
        },
      }),
    ).toEqual([['Run', A]]);
  });

  test('Parallel branches and inline Map iterations read the outer variable; their assignments do not flow out', () => {
    expect(
      children({
        StartAt: 'Pick',
        States: {
          Pick: { Type: 'Pass', Assign: { childArn: A }, Next: 'Fan' },
          Fan: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'InBranch', States: { InBranch: jsonPathTask() } },
              {
                StartAt: 'Reassign',
                States: { Reassign: { Type: 'Pass', Assign: { childArn: B }, End: true } },
              },
            ],
            Next: 'Each',
          },
          Each: {
            Type: 'Map',
            ItemProcessor: { StartAt: 'InMap', States: { InMap: jsonPathTask() } },
            Next: 'After',
          },
          After: jsonPathTask(),
        },
      }),
    ).toEqual([
      ['InBranch', A],
      ['InMap', A],
      ['After', A],
    ]);
  });

  test("a Distributed Map's child workflow executions see no outer variable: a run-time child", () => {
    expect(
      children({
        StartAt: 'Pick',
        States: {
          Pick: { Type: 'Pass', Assign: { childArn: A }, Next: 'Each' },
          Each: {
            Type: 'Map',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'InMap',
              States: { InMap: jsonPathTask() },
            },
            End: true,
          },
        },
      }),
    ).toEqual([['InMap', 'runtime "StateMachineArn.$": "$childArn"']]);
  });

  test.each<[string, object]>([
    ['assigned from the input', { 'childArn.$': '$.arn' }],
    ['assigned an object holding a path', { childArn: { 'arn.$': '$.arn' } }],
  ])('%s on one path: a run-time child, with the message of today', (_case, assign) => {
    const definition = {
      StartAt: 'Choose',
      States: {
        Choose: {
          Type: 'Choice',
          Choices: [{ Variable: '$.x', BooleanEquals: true, Next: 'Fixed' }],
          Default: 'Input',
        },
        Fixed: { Type: 'Pass', Assign: { childArn: A }, Next: 'Run' },
        Input: { Type: 'Pass', Assign: assign, Next: 'Run' },
        Run: jsonPathTask(),
      },
    };
    expect(children(definition)).toEqual([['Run', 'runtime "StateMachineArn.$": "$childArn"']]);
    expect(() => new NestedWorkflowRole(newStack(), 'ParentRole', { definitionBody: fromAsl(definition) })).toThrow(
      'Stack/ParentRole: state \'Run\' takes the ARN of the child it starts from its input at run time ("StateMachineArn.$": "$childArn"), ' +
        'which no policy can scope without granting every state machine. Name the child in the definition, or declare the children the state ' +
        "may start: `runtimeChildren: [{ stateName: 'Run', children: [childA, childB] }]`.",
    );
  });

  test('JSONata: a variable assigned an expression is a run-time child', () => {
    expect(
      children({
        QueryLanguage: 'JSONata',
        StartAt: 'Pick',
        States: {
          Pick: { Type: 'Pass', Assign: { childArn: '{% $states.input.arn %}' }, Next: 'Run' },
          Run: jsonataTask,
        },
      }),
    ).toEqual([['Run', 'runtime "StateMachineArn": "{% $childArn %}"']]);
  });

  test('a variable never assigned is a run-time child; `$states` and paths into a variable are not variables', () => {
    expect(children({ StartAt: 'Run', States: { Run: jsonPathTask() } })).toEqual([
      ['Run', 'runtime "StateMachineArn.$": "$childArn"'],
    ]);
    expect(
      children({
        StartAt: 'Pick',
        States: {
          Pick: { Type: 'Pass', Assign: { cfg: { arn: A } }, Next: 'Run' },
          Run: { Type: 'Task', Resource: START, Parameters: { 'StateMachineArn.$': '$cfg.arn' }, End: true },
        },
      }),
    ).toEqual([['Run', 'runtime "StateMachineArn.$": "$cfg.arn"']]);
  });

  test.each<[string, object, string]>([
    [
      "a JSONata literal that is not an ARN ({% 'child1' %})",
      {
        QueryLanguage: 'JSONata',
        StartAt: 'Run',
        States: { Run: { ...jsonataTask, Arguments: { StateMachineArn: "{% 'child1' %}" } } },
      },
      "{% 'child1' %}",
    ],
    [
      'a variable assigned a constant that is not an ARN',
      {
        StartAt: 'Pick',
        States: { Pick: { Type: 'Pass', Assign: { childArn: 'child1' }, Next: 'Run' }, Run: jsonPathTask() },
      },
      '$childArn',
    ],
  ])(
    '%s is refused, and the message says runtimeChildren does not apply to a constant',
    (_case, definition, constant) => {
      expect(() => new NestedWorkflowRole(newStack(), 'ParentRole', { definitionBody: fromAsl(definition) })).toThrow(
        new RegExp(
          "the StateMachineArn of state 'Run' must be a state machine ARN .*, got: child1 .* " +
            escape(
              `The state's StateMachineArn is the constant ${constant}, so \`runtimeChildren\` does not apply to it: make the constant the child's state machine ARN.`,
            ) +
            '$',
        ),
      );
    },
  );

  test('simulated: each child a variable may hold is Allowed exactly, near misses Denied', async () => {
    const stack = newStack();
    const definitionBody = fromAsl({
      StartAt: 'Choose',
      States: {
        Choose: {
          Type: 'Choice',
          Choices: [{ Variable: '$.big', BooleanEquals: true, Assign: { childArn: A }, Next: 'Run' }],
          Default: 'Small',
        },
        Small: { Type: 'Pass', Assign: { childArn: B }, Next: 'Run' },
        Run: { ...jsonPathTask(), Resource: `${START}.sync:2` },
      },
    });
    new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    const template = Template.fromStack(stack);
    expect(Object.values(policyDocuments(template)).flatMap((d: any) => d.Statement)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: [A, B] },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: [
          `arn:aws:states:${REGION}:${ACCOUNT}:execution:ChildA:*`,
          `arn:aws:states:${REGION}:${ACCOUNT}:execution:ChildB:*`,
        ],
      },
      eventsStatement(),
    ]);
    const json = template.toJSON();
    const policies = parentRolePolicies(json, PARENT_ENV);
    const probes: ProbeCase[] = ['ChildA', 'ChildB'].flatMap((name) =>
      probesFor({ ...PARENT_ENV, name, pattern: 'RUN_JOB' } as ChildScenario, PARENT_ENV),
    );
    const failures: string[] = [];
    for (const probe of probes) {
      const decision = verdict(await simulate(policies, probe, PARENT_ENV));
      if (decision !== probe.expect) failures.push(`${probe.label}: expected ${probe.expect}, got ${decision}`);
    }
    expect(failures).toEqual([]);
  });

  test('5,000 nested Parallel states reading an outer variable are read without RangeError', () => {
    const depth = 5_000;
    let text = `{"StartAt":"Pick","States":{"Pick":{"Type":"Pass","Assign":{"childArn":"${A}"},"Next":"P0"},"P0":{"Type":"Parallel","End":true,"Branches":[`;
    for (let i = 1; i < depth; i++) {
      text += `{"StartAt":"P${i}","States":{"P${i}":{"Type":"Parallel","End":true,"Branches":[`;
    }
    text += JSON.stringify({ StartAt: 'Deep', States: { Deep: jsonPathTask() } }) + ']}}}'.repeat(depth);
    const started = Date.now();
    const read = readDefinition('Stack/ParentRole', sfn.DefinitionBody.fromString(text));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(read.nested.map((t) => [t.stateName, t.stateMachineArn])).toEqual([['Deep', A]]);
  });
});

function fromAsl(definition: object): sfn.DefinitionBody {
  return sfn.DefinitionBody.fromString(JSON.stringify(definition));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
