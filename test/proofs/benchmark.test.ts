/**
 * The measuring code of `npm run bench` (test/util/benchmark.ts): character count, floor, quotas, the policies it
 * finds on each parent's role. No timing is asserted.
 */
import {
  AttachedPolicy,
  attachedPolicies,
  buildParent,
  checkQuotas,
  childNames,
  floor,
  measurePolicies,
  median,
  parentDefinition,
  policyCharacters,
  synthesize,
} from '../util/benchmark';
import { measure } from '../util/compare';
import { ACCOUNT, REGION } from '../util/fixtures';

const managed = (count: number, characters = 1_000): AttachedPolicy[] =>
  Array.from({ length: count }, (_, i) => ({ logicalId: `Managed${i}`, kind: 'managed', characters }));
const inline = (characters: number): AttachedPolicy => ({ logicalId: 'Inline', kind: 'inline', characters });

describe('benchmark measures', () => {
  test('policy characters are the JSON without white space, as the comparison counts them', () => {
    const document = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'states:StartExecution' }] };
    expect(policyCharacters(document)).toBe(JSON.stringify(document).length);
    expect(policyCharacters({ a: 'b c' })).toBe('{"a":"bc"}'.length);
    expect(policyCharacters(document)).toBe(
      measure({ identityPolicies: [document], trustPolicy: {}, policyResourceCount: 1 }).characters,
    );
  });

  test('the floor of one child is its state machine ARN, its execution pattern and the managed rule', () => {
    const f = floor(['Child0']);
    expect(f.arns).toEqual([
      `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Child0`,
      `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child0:*`,
      `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
    ]);
    expect(f.characters).toBe(f.arns.join('').length);
    expect(f.charactersQuoted).toBe(f.characters + 3 * 3);
  });

  test('the floor names the managed rule once, whatever the number of children', () => {
    const f = floor(childNames(300));
    expect(f.arns).toHaveLength(601);
    expect(new Set(f.arns).size).toBe(601);
    expect(f.arns.filter((arn) => arn.includes(':rule/'))).toHaveLength(1);
    expect(floor([])).toEqual({ arns: [], characters: 0, charactersQuoted: 0 });
  });

  test.each([
    ['inline at the quota', [inline(10_240)], true, true],
    ['inline over the quota', [inline(10_241)], false, false],
    ['managed policy at the quota', [inline(10), ...managed(1, 6_144)], true, true],
    ['managed policy over the quota', [inline(10), ...managed(1, 6_145)], false, false],
    ['10 managed policies', [inline(10), ...managed(10)], true, true],
    ['11 managed policies', [inline(10), ...managed(11)], false, true],
    ['20 managed policies', managed(20), false, true],
    ['21 managed policies', managed(21), false, false],
  ])('quotas: %s', (_, policies, deployable, deployableWithRaisedQuota) => {
    const check = checkQuotas(policies);
    expect({ deployable: check.deployable, deployableWithRaisedQuota: check.deployableWithRaisedQuota }).toEqual({
      deployable,
      deployableWithRaisedQuota,
    });
    expect(check.problems.length === 0).toBe(deployable);
  });

  test('quotas sum the inline policies of a role', () => {
    const check = checkQuotas([inline(6_000), inline(5_000)]);
    expect(check.inlineCharacters).toBe(11_000);
    expect(check.problems).toEqual(['inline policies 11000 > 10240 characters']);
  });

  test.each([
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])('median of %j is %d', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  test('median of nothing is an error', () => {
    expect(() => median([])).toThrow('median of no values');
  });
});

describe('benchmark parents', () => {
  test('NestedWorkflowRole: 3 children fit one inline policy of 3 statements, above the quoted floor', () => {
    // GIVEN
    const synthesized = synthesize(() => buildParent('nestedWorkflowRole', 3));
    // WHEN
    const m = measurePolicies(synthesized);
    // THEN
    expect(m.policyResources).toBe(1);
    expect(m.statements).toBe(3);
    expect(m.quotas.deployable).toBe(true);
    expect(m.characters).toBeGreaterThan(floor(childNames(3)).charactersQuoted);
    expect(attachedPolicies(synthesized.template, synthesized.roleLogicalId).map((p) => p.kind)).toEqual(['inline']);
  });

  test('the parent state machine adds nothing to the policies of the NestedWorkflowRole', () => {
    const alone = measurePolicies(synthesize(() => buildParent('nestedWorkflowRole', 3)));
    const withParent = synthesize(() => buildParent('nestedWorkflowRoleParent', 3));
    expect(measurePolicies(withParent)).toEqual(alone);
    const parent = Object.values<any>(withParent.template.Resources).find(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    expect(JSON.parse(parent.Properties.DefinitionString)).toEqual(parentDefinition(childNames(3)));
  });

  test('aws-cdk-lib: one statement per task grant, and merged ones with minimizePolicies', () => {
    const plain = measurePolicies(synthesize(() => buildParent('awsCdkLib', 3)));
    const minimized = measurePolicies(synthesize(() => buildParent('awsCdkLibMinimized', 3)));
    // 3 StartExecution + 3 Describe/Stop + the events statement, merged once identical
    expect(plain.statements).toBe(7);
    expect(minimized.statements).toBe(3);
    expect(minimized.characters).toBeLessThan(plain.characters);
  });

  test('aws-cdk-lib overflows its default policy into managed policies, which the quota check counts', () => {
    // GIVEN 100 children: more than 10,000 estimated characters in the default policy
    const synthesized = synthesize(() => buildParent('awsCdkLib', 100));
    // WHEN
    const attached = attachedPolicies(synthesized.template, synthesized.roleLogicalId);
    const m = measurePolicies(synthesized);
    // THEN
    const managedIds = attached.filter((p) => p.kind === 'managed').map((p) => p.logicalId);
    expect(managedIds.length).toBeGreaterThan(0);
    for (const id of managedIds) expect(id).toMatch(/OverflowPolicy\d+/);
    expect(m.policyResources).toBe(attached.length);
    expect(m.quotas.managedCharacters).toHaveLength(managedIds.length);
  });
});
