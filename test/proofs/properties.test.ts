/**
 * Property-based tests (fast-check): invariants over generated children, definitions, bad inputs and quota edges.
 *
 * Seeded and bounded so that the suite stays within its CI budget: every property runs `numRuns` cases from the seed
 * `FC_SEED` (default below). On failure fast-check prints the seed, the path and the shrunk counterexample; run again
 * with `FC_SEED=<seed>` to reproduce.
 *
 * Not generated here: definitions nested thousands of levels deep (the walker's own tests cover depth) and non-string
 * `Resource`/`StateMachineArn` fields (the definition reader's own tests cover them).
 */
import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as fc from 'fast-check';
import { NestedWorkflowRole, NestedWorkflowRoleProps } from '../../lib';
import { attachedPolicies, checkQuotas } from '../util/benchmark';
import {
  ACCOUNT,
  importedChild,
  inStackChild,
  newStack,
  PARTITION,
  REGION,
  stateMachineArn,
  firstFit,
} from '../util/fixtures';
import { Pattern, probesFor, ProbeCase } from '../util/probes';
import { resolveValue } from '../util/resolve';
import { failedProbes as simulatedFailures, parentRolePolicies, parentRoleId } from '../util/simulator';

const SEED = Number(process.env.FC_SEED ?? 20261126);

// Each property runs many cases; the simulator loads its IAM data on first use.
jest.setTimeout(120_000);
const PARENT = { partition: PARTITION, region: REGION, account: ACCOUNT };
const PATTERNS: Pattern[] = ['REQUEST_RESPONSE', 'RUN_JOB', 'WAIT_FOR_TASK_TOKEN'];
const RESOURCES: { [pattern in Pattern]: string } = {
  REQUEST_RESPONSE: 'arn:aws:states:::states:startExecution',
  RUN_JOB: 'arn:aws:states:::states:startExecution.sync:2',
  WAIT_FOR_TASK_TOKEN: 'arn:aws:states:::states:startExecution.waitForTaskToken',
};

/** Runs a property with the suite's seed and bounds. */
function check<T>(property: fc.IProperty<T>, numRuns: number): void {
  fc.assert(property, { seed: SEED, numRuns, endOnFailure: false });
}
async function checkAsync<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  await fc.assert(property, { seed: SEED, numRuns, endOnFailure: false });
}

// ---------------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------------

/** Characters both Step Functions and IAM accept in a name (ASCII, with a few Latin-1 letters). */
const NAME_CHARACTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.()=+!@', 'é', 'ß', 'Ø'];
/** What aws-cdk-lib's `sfn.StateMachine` accepts as `stateMachineName`. */
const CDK_NAME_CHARACTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'];

const nameStem = (characters: string[]) =>
  fc.array(fc.constantFrom(...characters), { minLength: 1, maxLength: 20 }).map((c) => c.join(''));

type ChildKind =
  'imported by ARN' | 'imported by name' | 'defined in the stack' | 'alias of a state machine of the stack';

interface GeneratedChild {
  readonly stem: string;
  readonly kind: ChildKind;
  readonly pattern: Pattern;
  readonly qualifier?: string;
}

const childArbitrary: fc.Arbitrary<GeneratedChild> = fc
  .record({
    kind: fc.constantFrom<ChildKind>(
      'imported by ARN',
      'imported by name',
      'defined in the stack',
      'alias of a state machine of the stack',
    ),
    pattern: fc.constantFrom(...PATTERNS),
    qualifier: fc.option(fc.oneof(nameStem(CDK_NAME_CHARACTERS), fc.nat(999).map(String)), { nil: undefined }),
    stem: nameStem(NAME_CHARACTERS),
    cdkStem: nameStem(CDK_NAME_CHARACTERS),
  })
  .map(({ kind, pattern, qualifier, stem, cdkStem }) => {
    const inStack = kind === 'defined in the stack' || kind === 'alias of a state machine of the stack';
    return {
      kind,
      pattern,
      stem: inStack ? cdkStem : stem,
      // Only ARNs carry a qualifier: `fromStateMachineName` and a state machine itself do not.
      qualifier: kind === 'imported by ARN' || kind === 'alias of a state machine of the stack' ? qualifier : undefined,
    };
  });

/** The child's name: its stem and its index, so that no child's name is another's near miss (`<name>2`, `<name>Admin`). */
const childName = (child: GeneratedChild, index: number) => `${child.stem}-${index}`;

/** The child as `addChild` takes it. */
function makeChild(stack: Stack, child: GeneratedChild, index: number): sfn.IStateMachine {
  const name = childName(child, index);
  switch (child.kind) {
    case 'imported by ARN':
      return importedChild(
        stack,
        `C${index}`,
        `${stateMachineArn(name)}${child.qualifier ? `:${child.qualifier}` : ''}`,
      );
    case 'imported by name':
      return sfn.StateMachine.fromStateMachineName(stack, `C${index}`, name);
    case 'defined in the stack':
      return inStackChild(stack, `C${index}`, { stateMachineName: name });
    case 'alias of a state machine of the stack': {
      const target = inStackChild(stack, `C${index}`, { stateMachineName: name });
      return child.qualifier
        ? sfn.StateMachine.fromStateMachineArn(stack, `C${index}Alias`, `${target.stateMachineArn}:${child.qualifier}`)
        : target;
    }
  }
}

/** The probes of every child, leaving out the shared managed rule's Denied probes when any child is synchronous. */
function probesOf(children: GeneratedChild[]): ProbeCase[] {
  const anySync = children.some((c) => c.pattern === 'RUN_JOB');
  return children.flatMap((child, i) =>
    probesFor(
      { ...PARENT, name: childName(child, i), pattern: child.pattern, qualifier: child.qualifier },
      PARENT,
    ).filter(
      (probe) =>
        !(
          anySync &&
          probe.action.startsWith('events:') &&
          probe.expect === 'Denied' &&
          probe.label.includes('the managed rule') &&
          !probe.label.includes('another')
        ),
    ),
  );
}

async function failedProbes(stack: Stack, probes: ProbeCase[]): Promise<string[]> {
  return simulatedFailures(parentRolePolicies(Template.fromStack(stack).toJSON(), PARENT), probes, PARENT);
}

// ---------------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------------

describe('properties', () => {
  // 12 cases of 1-3 children: about 25 simulated probes per child.
  test('random children: every call Step Functions makes is Allowed, every near miss Denied', async () => {
    await checkAsync(
      fc.asyncProperty(fc.array(childArbitrary, { minLength: 1, maxLength: 3 }), async (children) => {
        const stack = newStack();
        const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
        children.forEach((child, i) =>
          parentRole.addChild(makeChild(stack, child, i), {
            integrationPattern: sfn.IntegrationPattern[child.pattern],
          }),
        );
        expect(await failedProbes(stack, probesOf(children))).toEqual([]);
      }),
      12,
    );
  });

  // 25 definitions of up to 6 tasks, in Parallel branches and Map item processors up to depth 4.
  test('random definitions: the role derived from the definition equals the role of the same addChild calls', () => {
    check(
      fc.property(definitionArbitrary, ({ definition, tasks }) => {
        const fromDefinition = newStack();
        const substitutions: { [key: string]: string } = {};
        tasks.forEach((task, i) => (substitutions[`Child${i}`] = task.arn));
        new NestedWorkflowRole(fromDefinition, 'ParentRole', {
          definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
          definitionSubstitutions: substitutions,
          // A Distributed Map runs the parent itself: its Map Run grants need the parent's name.
          parentStateMachineName: 'Parent',
        });
        const fromChildren = newStack();
        const parentRole = new NestedWorkflowRole(fromChildren, 'ParentRole');
        tasks.forEach((task, i) =>
          parentRole.addChild(importedChild(fromChildren, `C${i}`, task.arn), {
            integrationPattern: sfn.IntegrationPattern[task.pattern],
          }),
        );
        expect(grantsOf(fromDefinition)).toEqual(grantsOf(fromChildren));
      }),
      25,
    );
  });

  // 300 bad children, 200 bad definitions, 150 bad parent names: each constructs and synthesizes in milliseconds.
  test('random bad children: an Error that names the role, never a TypeError or RangeError', () => {
    // A child whose ARN is any string (fromStateMachineArn would refuse some before the role sees them).
    const childWithArn = (stack: Stack, arn: string) =>
      ({ ...importedChild(stack, 'C', stateMachineArn('Placeholder')), stateMachineArn: arn }) as sfn.IStateMachine;
    check(
      fc.property(badArnArbitrary, (arn) => expectCleanOutcome((stack) => ({ child: childWithArn(stack, arn) }))),
      300,
    );
  });

  test('random bad definitions: an Error that names the role, never a TypeError or RangeError', () => {
    check(
      fc.property(
        badDefinitionArbitrary,
        fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
        (text, definitionSubstitutions) =>
          // Fields of the definition other than ARNs (a run-time `StateMachineArn.$`) are echoed as they are.
          expectCleanOutcome(
            () => ({ definitionBody: sfn.DefinitionBody.fromString(text), definitionSubstitutions }),
            false,
          ),
      ),
      200,
    );
  });

  test('random parent names: an Error that names the character, or a trust policy on exactly that name', () => {
    check(
      fc.property(fc.oneof(anyString({ maxLength: 90 }), nameStem(NAME_CHARACTERS)), (name) => {
        const stack = newStack();
        const build = () =>
          new NestedWorkflowRole(stack, 'ParentRole', {
            child: importedChild(stack, 'C', stateMachineArn('Child')),
            parentStateMachineName: name,
          });
        let role: NestedWorkflowRole;
        try {
          role = build();
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(
            /`parentStateMachineName` must be a state machine name .*, which (holds U\+[0-9A-F]{4,6}|is empty|has \d+ characters)/,
          );
          expect((e as Error).message).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff]/u);
          return;
        }
        const trust = stack.resolve((role.role.node.defaultChild as iam.CfnRole).assumeRolePolicyDocument);
        const sourceArns = resolveValue(trust.Statement[0].Condition.ArnLike['aws:SourceArn'], {}, PARENT);
        expect(sourceArns).toEqual([stateMachineArn(name), stateMachineArn(`${name}:*`)]);
      }),
      150,
    );
  });

  // 6 roles of up to 400 children with other grants; each synthesized up to 3 times (N, N + 1).
  test('quota edges with other grants: every deployed policy fits, or the first N fit with N true', () => {
    check(
      fc.property(
        fc.record({
          children: fc.integer({ min: 1, max: 400 }),
          nameLength: fc.integer({ min: 1, max: 80 }),
          pattern: fc.constantFrom(...PATTERNS),
          literalGrants: fc.integer({ min: 0, max: 150 }),
          tokenGrants: fc.integer({ min: 0, max: 40 }),
          managedPolicies: fc.integer({ min: 0, max: 4 }),
        }),
        (edge) => {
          const build = (count: number) => quotaStack(edge, count);
          const fit = firstFit(build(edge.children));
          if (fit === undefined) {
            expect(deployedProblems(build(edge.children))).toEqual([]);
            return;
          }
          expect(fit).toBeLessThan(edge.children);
          if (fit > 0) expect(deployedProblems(build(fit))).toEqual([]);
          expect(firstFit(build(fit + 1))).toBe(fit);
        },
      ),
      6,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------------------------------

interface GeneratedTask {
  readonly arn: string;
  readonly pattern: Pattern;
}

/**
 * A definition (JSONPath or JSONata, per definition and per state) whose tasks start `${Child<i>}`, nested in
 * Parallel branches and Map item processors (inline or distributed) up to depth 4, with Pass states between.
 */
const definitionArbitrary: fc.Arbitrary<{ definition: object; tasks: GeneratedTask[] }> = fc
  .record({
    tasks: fc.array(
      fc.record({
        name: nameStem(NAME_CHARACTERS),
        pattern: fc.constantFrom(...PATTERNS),
        qualifier: fc.option(fc.constantFrom('PROD', '3'), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    shape: fc.array(fc.constantFrom('top', 'parallel', 'map', 'distributed'), { minLength: 6, maxLength: 6 }),
    depth: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 6, maxLength: 6 }),
    languages: fc.array(fc.constantFrom<'JSONPath' | 'JSONata'>('JSONPath', 'JSONata'), { minLength: 7, maxLength: 7 }),
  })
  .map(({ tasks, shape, depth, languages }) => {
    const generated = tasks.map((t, i) => ({
      arn: `${stateMachineArn(`${t.name}-${i}`)}${t.qualifier ? `:${t.qualifier}` : ''}`,
      pattern: t.pattern,
    }));
    const topLanguage = languages[6];
    const states: { [name: string]: object } = {};
    const order: string[] = [];
    tasks.forEach((task, i) => {
      const language = languages[i];
      const args = { StateMachineArn: `\${Child${i}}`, Input: { index: i } };
      const taskState = {
        Type: 'Task',
        QueryLanguage: language,
        Resource: RESOURCES[task.pattern],
        ...(language === 'JSONata' ? { Arguments: args } : { Parameters: args }),
        End: true,
      };
      let state: object = taskState;
      let stateName = `Start ${i}`;
      const wrap = shape[i];
      if (wrap !== 'top') {
        for (let level = 0; level < depth[i]; level++) {
          const graph = { StartAt: stateName, States: { [stateName]: state } };
          stateName = `Level ${level} of ${i}`;
          state =
            wrap === 'parallel'
              ? {
                  Type: 'Parallel',
                  Branches: [graph, { StartAt: 'Idle', States: { Idle: { Type: 'Pass', End: true } } }],
                  End: true,
                }
              : {
                  Type: 'Map',
                  ItemProcessor: {
                    ProcessorConfig: {
                      Mode: wrap === 'distributed' ? 'DISTRIBUTED' : 'INLINE',
                      ExecutionType: 'STANDARD',
                    },
                    ...graph,
                  },
                  End: true,
                };
        }
      }
      states[stateName] = state;
      order.push(stateName);
    });
    // Chain the top-level states.
    order.forEach((name, i) => {
      const state = states[name] as { End?: boolean; Next?: string };
      if (i + 1 < order.length) {
        delete state.End;
        state.Next = order[i + 1];
      }
    });
    return { definition: { QueryLanguage: topLanguage, StartAt: order[0], States: states }, tasks: generated };
  });

/** The grants of the parent role of `stack`, resolved and order-free: per (actions, conditions), sorted resources. */
function grantsOf(stack: Stack): string[] {
  const template = Template.fromStack(stack).toJSON();
  const out: string[] = [];
  for (const resource of Object.values<any>(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    // The Map Run grants of a Distributed Map are on the parent itself, not on a child: addChild has no counterpart.
    if (resource.Properties.PolicyName === 'NestedWorkflowMapRunPolicy') continue;
    const document = resolveValue(resource.Properties.PolicyDocument, template, PARENT);
    for (const statement of document.Statement) {
      const head = JSON.stringify([statement.Action, statement.Condition ?? null]);
      for (const arn of [statement.Resource].flat()) out.push(`${head} ${arn}`);
    }
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------------------------
// Bad inputs
// ---------------------------------------------------------------------------------------------------------------

/** Any character: any code point, lone surrogates, and the characters ARNs and substitutions give a meaning to. */
const anyCharacter: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
  fc.integer({ min: 0, max: 0xff }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  fc.constantFrom(':', '*', '?', '$', '{', '}', '/', ' ', 'a', 'Z', '0', '-'),
);
const anyString = (constraints: { minLength?: number; maxLength: number }) =>
  fc.string({ unit: anyCharacter, ...constraints });

/** Strings near a state machine ARN: random parts, any characters (control characters, lone surrogates, Unicode). */
const badArnArbitrary: fc.Arbitrary<string> = fc.oneof(
  anyString({ maxLength: 120 }),
  fc
    .record({
      parts: fc.array(
        fc.oneof(
          anyString({ maxLength: 20 }),
          fc.constantFrom('arn', 'aws', 'states', REGION, ACCOUNT, 'stateMachine', 'execution', 'activity', '*', ''),
        ),
        { minLength: 1, maxLength: 10 },
      ),
    })
    .map(({ parts }) => parts.join(':')),
  fc
    .tuple(anyString({ minLength: 1, maxLength: 81 }), fc.option(anyString({ maxLength: 81 }), { nil: undefined }))
    .map(([name, qualifier]) => `${stateMachineArn(name)}${qualifier === undefined ? '' : `:${qualifier}`}`),
);

/** Definition texts: random JSON, state machines with random states, fields and substitutions. */
const badDefinitionArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.json({ maxDepth: 3 }),
  fc
    .record({
      // State names are echoed in messages as they are: printable ones (Step Functions refuses the others itself).
      stateName: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      type: fc.constantFrom('Task', 'Parallel', 'Map', 'Pass', 'Choice', 42, null),
      resource: fc.oneof(
        fc.constantFrom(
          ...Object.values(RESOURCES),
          'arn:aws:states:::aws-sdk:sfn:startSyncExecution',
          '${Resource}',
          '${toString}',
        ),
        fc.string({ maxLength: 30 }),
      ),
      field: fc.constantFrom('Parameters', 'Arguments'),
      arn: fc.oneof(
        badArnArbitrary,
        fc.constantFrom('${ChildArn}', '${constructor}', '${hasOwnProperty}', '{% $states.input.arn %}', '${}'),
      ),
      arnKey: fc.constantFrom('StateMachineArn', 'StateMachineArn.$', 'stateMachineArn'),
      credentials: fc.option(
        fc.oneof(
          fc.constantFrom({ RoleArn: 'arn:aws:iam::111111111111:role/R' }, { 'RoleArn.$': '$.role' }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        { nil: undefined },
      ),
      branches: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
      language: fc.option(fc.constantFrom('JSONPath', 'JSONata', 'XPath'), { nil: undefined }),
    })
    .map((s) =>
      JSON.stringify({
        QueryLanguage: s.language,
        StartAt: s.stateName,
        States: {
          [s.stateName]: {
            Type: s.type,
            Resource: s.resource,
            [s.field]: { [s.arnKey]: s.arn },
            Credentials: s.credentials,
            Branches: s.branches,
            End: true,
          },
        },
      }),
    ),
);

/**
 * Builds a role from `props` and synthesizes it: either both succeed, or an `Error` (never a TypeError or
 * RangeError) that names the role's path, shows no raw token and (`printable`) no character a terminal would not show.
 */
function expectCleanOutcome(props: (stack: Stack) => NestedWorkflowRoleProps, printable = true): void {
  const stack = newStack();
  try {
    new NestedWorkflowRole(stack, 'ParentRole', props(stack));
    Template.fromStack(stack);
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    // Errors of this library, or aws-cdk-lib's wrapper of failed validations: never a crash.
    for (const crash of [TypeError, RangeError, ReferenceError, SyntaxError]) expect(e).not.toBeInstanceOf(crash);
    const message = (e as Error).message;
    expect(message).toContain('ParentRole');
    expect(message).not.toMatch(/\$\{Token\[/);
    if (printable) expect(message).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff]/u);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Quotas
// ---------------------------------------------------------------------------------------------------------------

interface QuotaEdge {
  readonly nameLength: number;
  readonly pattern: Pattern;
  readonly literalGrants: number;
  readonly tokenGrants: number;
  readonly managedPolicies: number;
}

function quotaStack(edge: QuotaEdge, count: number): Stack {
  const stack = newStack();
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
  const name = (i: number) =>
    `${'n'.repeat(Math.max(0, edge.nameLength - 4))}${String(i).padStart(4, '0')}`.slice(-Math.max(edge.nameLength, 4));
  for (let i = 0; i < count; i++) {
    parentRole.addChild(importedChild(stack, `C${i}`, stateMachineArn(name(i))), {
      integrationPattern: sfn.IntegrationPattern[edge.pattern],
    });
  }
  for (let i = 0; i < edge.literalGrants; i++) {
    parentRole.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [`arn:aws:sqs:${REGION}:${ACCOUNT}:${'q'.repeat(60)}${i}`],
      }),
    );
  }
  for (let i = 0; i < edge.tokenGrants; i++) {
    const arn = new CfnParameter(stack, `Arn${i}`, {
      default: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${'f'.repeat(50)}${i}`,
    });
    parentRole.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [arn.valueAsString] }),
    );
  }
  for (let i = 0; i < edge.managedPolicies; i++) {
    parentRole.role.addManagedPolicy(iam.ManagedPolicy.fromManagedPolicyName(stack, `Managed${i}`, `Own${i}`));
  }
  return stack;
}

/** What exceeds IAM's quotas in the parent role's deployed policies (managed policies not in the template count 1). */
function deployedProblems(stack: Stack): string[] {
  const template = Template.fromStack(stack).toJSON();
  const roleId = parentRoleId(template);
  const role = template.Resources[roleId];
  const outside = (role.Properties.ManagedPolicyArns ?? []).filter((arn: any) => arn?.Ref === undefined).length;
  const attached = attachedPolicies(template, roleId);
  const quotas = checkQuotas([
    ...attached,
    ...Array.from({ length: outside }, (_, i) => ({
      logicalId: `outside${i}`,
      kind: 'managed' as const,
      characters: 0,
    })),
  ]);
  return quotas.problems;
}
