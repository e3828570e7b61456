/**
 * The findings of `scripts/compare.ts` as assertions, so the README's comparison with aws-cdk-lib's own
 * `StepFunctionsStartExecution` task cannot rot: same children, same probes, same simulator.
 */
import {
  CHILD_ACCOUNT,
  compareAll,
  ComparedProbe,
  firstSentence,
  overGrants,
  PARENT,
  ScenarioResult,
  SCENARIOS,
  Side,
  underGrants,
} from '../util/compare';

const labels = (probes: ComparedProbe[]) => probes.map((p) => p.probe.label).sort();

describe('aws-cdk-lib StepFunctionsStartExecution vs NestedWorkflowRole, simulated with the same probes', () => {
  const results: { [id: string]: ScenarioResult } = {};
  const result = (id: string): ScenarioResult => {
    const found = results[id];
    if (!found) throw new Error(`no scenario '${id}'`);
    return found;
  };
  const over = (id: string, side: Side) => labels(overGrants(result(id), side));
  const under = (id: string, side: Side) => labels(underGrants(result(id), side));

  beforeAll(async () => {
    // GIVEN every scenario, built both ways in the same environment, WHEN every probe is simulated on both roles
    for (const r of await compareAll(SCENARIOS)) results[r.scenario.id] = r;
  }, 120_000);

  test('every scenario was simulated on both sides with every probe', () => {
    expect(Object.keys(results).sort()).toEqual(
      ['alias', 'cross-account', 'request-response', 'run-job', 'version', 'wait-for-task-token'].sort(),
    );
    for (const r of Object.values(results)) {
      expect(r.probes.length).toBeGreaterThan(20);
      expect(r.probes.some((p) => p.probe.needed)).toBe(true);
      expect(r.awsCdkLib.measure?.statements).toBeGreaterThan(0);
    }
  });

  test('NestedWorkflowRole has no over-grant and no under-grant in any scenario it accepts', () => {
    const accepted = Object.values(results).filter((r) => !r.nestedWorkflowRole.refused);
    // THEN only the cross-account child is refused
    expect(accepted.map((r) => r.scenario.id).sort()).toEqual(
      ['alias', 'request-response', 'run-job', 'version', 'wait-for-task-token'].sort(),
    );
    for (const r of accepted) {
      expect({ id: r.scenario.id, over: over(r.scenario.id, 'nestedWorkflowRole') }).toEqual({
        id: r.scenario.id,
        over: [],
      });
      expect({ id: r.scenario.id, under: under(r.scenario.id, 'nestedWorkflowRole') }).toEqual({
        id: r.scenario.id,
        under: [],
      });
      expect(r.probes.every((p) => p.nestedWorkflowRole !== undefined)).toBe(true);
    }
  });

  test('RUN_JOB child: aws-cdk-lib grants execution:Worker*, so executions of WorkerAdmin (and Worker2) are exposed', () => {
    // THEN DescribeExecution and StopExecution on WorkerAdmin's executions are over-grants of aws-cdk-lib only
    expect(over('run-job', 'awsCdkLib')).toEqual(
      expect.arrayContaining([
        'DescribeExecution on an execution of WorkerAdmin',
        'StopExecution on an execution of WorkerAdmin',
        'DescribeExecution on an execution of Worker2',
      ]),
    );
    expect(
      over('run-job', 'awsCdkLib').every((label) => /^(Describe|Stop)Execution on an execution of /.test(label)),
    ).toBe(true);
    // and every call Step Functions makes is still granted
    expect(under('run-job', 'awsCdkLib')).toEqual([]);
    expect(result('run-job').awsCdkLib.measure?.grants).toContain(
      `Allow states:DescribeExecution, states:StopExecution on arn:aws:states:${PARENT.region}:${PARENT.account}:execution:Worker*`,
    );
  });

  test.each(['request-response', 'wait-for-task-token'])(
    '%s child: aws-cdk-lib is exact too (StartExecution on the child only)',
    (id) => {
      expect(over(id, 'awsCdkLib')).toEqual([]);
      expect(under(id, 'awsCdkLib')).toEqual([]);
    },
  );

  test.each([
    ['alias', 'PROD'],
    ['version', '3'],
  ])('child addressed by %s ARN: aws-cdk-lib names the qualified ARN, which IAM never matches', (id, qualifier) => {
    // THEN StartExecution with the qualifier is Denied (the parent cannot start the child at all),
    // and so are DescribeExecution/StopExecution on its executions (granted on execution:Worker:<qualifier>*)
    expect(under(id, 'awsCdkLib')).toEqual(
      [
        `StartExecution on Worker:${qualifier}`,
        'DescribeExecution on an execution of Worker',
        'StopExecution on an execution of Worker',
      ].sort(),
    );
    expect(over(id, 'awsCdkLib')).toEqual([]);
  });

  test('child in another account: aws-cdk-lib builds the execution ARN in the parent account; NestedWorkflowRole refuses', () => {
    const r = result('cross-account');
    // THEN NestedWorkflowRole refuses the child at synthesis, saying why
    expect(r.nestedWorkflowRole.refused).toContain(`is in account ${CHILD_ACCOUNT}`);
    expect(r.nestedWorkflowRole.refused).toContain(`parent's stack is in account ${PARENT.account}`);
    expect(r.probes.every((p) => p.nestedWorkflowRole === undefined)).toBe(true);
    // and aws-cdk-lib's role cannot describe or stop the child's real executions
    expect(under('cross-account', 'awsCdkLib')).toEqual(
      ['DescribeExecution on an execution of Worker', 'StopExecution on an execution of Worker'].sort(),
    );
    expect(over('cross-account', 'awsCdkLib')).toEqual([]);
    // The probe table's near misses never coincide with a needed call, even for a child in another account.
    expect(r.skipped).toEqual([]);
  });

  test('policy size is counted without white space, over every document attached to the role', () => {
    for (const r of Object.values(results)) {
      for (const side of [r.awsCdkLib, r.nestedWorkflowRole]) {
        if (!side.policies || !side.measure) continue;
        const expected = side.policies.identityPolicies
          .map((document) => JSON.stringify(document).replace(/\s/g, '').length)
          .reduce((a, b) => a + b, 0);
        expect(side.measure.characters).toBe(expected);
        expect(side.measure.grants).toHaveLength(side.measure.statements);
      }
    }
  });
});

describe('firstSentence', () => {
  test('keeps the first sentence of a construct error', () => {
    expect(firstSentence('Stack/X: `child` arn:aws:states:r:1:stateMachine:A is wrong. Do this instead.')).toBe(
      'Stack/X: `child` arn:aws:states:r:1:stateMachine:A is wrong.',
    );
  });

  test('strips the preamble of a validation error at synthesis', () => {
    expect(firstSentence('Validation failed with the following errors:\n  [Stack/X] No child. Add one.')).toBe(
      'No child.',
    );
  });
});
