import { CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole } from '../../lib';
import { ACCOUNT, importedChild, inStackChild, newStack, PARTITION, REGION, stateMachineArn } from '../util/fixtures';
import { ChildScenario, Pattern, probesFor, ProbeCase } from '../util/probes';
import { ResolveEnv } from '../util/resolve';
import {
  RolePolicies,
  simulate,
  simulateTrust,
  failedProbes as simulatedFailures,
  verdict,
  parentRolePolicies,
} from '../util/simulator';

const PARENT = { partition: PARTITION, region: REGION, account: ACCOUNT };
const PATTERNS: Pattern[] = ['REQUEST_RESPONSE', 'RUN_JOB', 'WAIT_FOR_TASK_TOKEN'];

/** The parent role's resolved policies. */
function parentPolicies(stack: Stack, env: ResolveEnv = PARENT): RolePolicies {
  return parentRolePolicies(Template.fromStack(stack).toJSON(), env);
}

/** The probes that fail on `policies`, in the parent's environment unless `env` says otherwise. */
const failedProbes = (policies: RolePolicies, probes: ProbeCase[], env: ResolveEnv = PARENT) =>
  simulatedFailures(policies, probes, env);

const scenario = (name: string, pattern: Pattern, qualifier?: string): ChildScenario => ({
  ...PARENT,
  name,
  pattern,
  qualifier,
});

/** Ways to give the parent a child named `name`, with the values the simulator resolves their tokens to. */
const KINDS: {
  [kind: string]: (stack: Stack, name: string) => { child: sfn.IStateMachine; env?: Partial<ResolveEnv> };
} = {
  'defined in the stack': (stack, name) => ({ child: inStackChild(stack, 'Child', { stateMachineName: name }) }),
  'defined in the stack without a name': (stack, name) => ({ child: inStackChild(stack, name) }),
  'imported by ARN': (stack, name) => ({ child: importedChild(stack, 'Child', stateMachineArn(name)) }),
  'imported by name': (stack, name) => ({ child: sfn.StateMachine.fromStateMachineName(stack, 'Child', name) }),
  'from a CfnParameter': (stack, name) => ({
    child: importedChild(stack, 'Child', new CfnParameter(stack, 'ChildArn').valueAsString),
    env: { parameters: { ChildArn: stateMachineArn(name) } },
  }),
  'from Fn::ImportValue': (stack, name) => ({
    child: importedChild(stack, 'Child', Fn.importValue('ChildArn')),
    env: { imports: { ChildArn: stateMachineArn(name) } },
  }),
};

describe('simulated: every call Step Functions makes is Allowed, near misses are Denied', () => {
  const cases = Object.keys(KINDS).flatMap((kind) => PATTERNS.map((pattern) => [kind, pattern] as const));

  test.each(cases)('a child %s, %s', async (kind, pattern) => {
    // GIVEN a child of this kind in the parent's account and region
    for (const agnostic of [false, true]) {
      const stack = newStack({ agnostic });
      const { child, env } = KINDS[kind](stack, 'Worker');
      // An unnamed state machine is named after its logical id (CloudFormation adds a suffix the resolver leaves out).
      const cfn = child.node.defaultChild;
      const name = kind.includes('without a name') ? stack.resolve((cfn as sfn.CfnStateMachine).logicalId) : 'Worker';
      // WHEN
      new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: sfn.IntegrationPattern[pattern] });
      // THEN
      const resolveEnv = { ...PARENT, ...env };
      const probes = probesFor(scenario(name, pattern), PARENT);
      expect(await failedProbes(parentPolicies(stack, resolveEnv), probes, resolveEnv)).toEqual([]);
    }
  });

  test.each([
    ['alias', 'PROD'],
    ['version', '7'],
  ])('a child addressed by %s ARN: only that qualifier, executions still covered', async (_kind, qualifier) => {
    for (const pattern of PATTERNS) {
      const stack = newStack();
      const child = importedChild(stack, 'Child', `${stateMachineArn('Worker')}:${qualifier}`);
      new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: sfn.IntegrationPattern[pattern] });
      const probes = probesFor(scenario('Worker', pattern, qualifier), PARENT);
      expect(await failedProbes(parentPolicies(stack), probes)).toEqual([]);
    }
  });

  test('several children with different patterns: each gets its own grants and nothing of the others', async () => {
    const stack = newStack();
    const children: ChildScenario[] = [
      scenario('Sync', 'RUN_JOB'),
      scenario('Async', 'REQUEST_RESPONSE'),
      scenario('Callback', 'WAIT_FOR_TASK_TOKEN'),
      scenario('Aliased', 'REQUEST_RESPONSE', 'LIVE'),
    ];
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    for (const c of children) {
      const arn = c.qualifier ? `${stateMachineArn(c.name)}:${c.qualifier}` : stateMachineArn(c.name);
      parentRole.addChild(importedChild(stack, c.name, arn), { integrationPattern: sfn.IntegrationPattern[c.pattern] });
    }
    const policies = parentPolicies(stack);
    // The managed rule is shared: only the children's own probes about executions and start apply per child.
    const perChild = children.flatMap((c) =>
      probesFor(c, PARENT).filter((p) => !p.action.startsWith('events:') || c.pattern === 'RUN_JOB'),
    );
    expect(await failedProbes(policies, perChild)).toEqual([]);
    // The alias child's other qualifiers stay denied although other children are unqualified.
    expect(
      verdict(
        await simulate(
          policies,
          {
            action: 'states:StartExecution',
            resource: stateMachineArn('Sync'),
            context: { 'states:StateMachineQualifier': 'LIVE' },
          },
          PARENT,
        ),
      ),
    ).toBe('Allowed'); // Sync is granted unqualified: every alias of Sync is its own.
    expect(
      verdict(
        await simulate(policies, { action: 'states:StartExecution', resource: stateMachineArn('Aliased') }, PARENT),
      ),
    ).toBe('Denied');
  });

  test('300 synchronous children spread over managed policies: first, middle and last child fully granted', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    for (let i = 0; i < 300; i++) {
      parentRole.addChild(importedChild(stack, `C${i}`, stateMachineArn(`Child${i}`)), {
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      });
    }
    const policies = parentPolicies(stack);
    expect(policies.policyResourceCount).toBeGreaterThan(1);
    expect(policies.policyResourceCount).toBeLessThanOrEqual(11);
    for (const i of [0, 1, 149, 150, 298, 299]) {
      // Near misses such as `Child12` for `Child1` name other children, which are granted: skip those.
      const probes = probesFor(scenario(`Child${i}`, 'RUN_JOB'), PARENT).filter((p) => {
        const named = /:(?:stateMachine|execution):Child(\d+)(?::|$)/.exec(p.resource);
        return !named || Number(named[1]) === i || Number(named[1]) >= 300;
      });
      expect(await failedProbes(policies, probes)).toEqual([]);
    }
    expect(
      verdict(
        await simulate(policies, { action: 'states:StartExecution', resource: stateMachineArn('Child300') }, PARENT),
      ),
    ).toBe('Denied');
  });
});

describe('simulated trust policy', () => {
  const parentArn = (name: string, account = ACCOUNT) => stateMachineArn(name, { account });

  async function trust(
    parentStateMachineName: string | undefined,
    context: { [key: string]: string },
    service = 'states.amazonaws.com',
  ) {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
      parentStateMachineName,
    });
    const roleArn = `arn:${PARTITION}:iam::${ACCOUNT}:role/ParentRole`;
    return verdict(await simulateTrust(parentPolicies(stack), roleArn, { servicePrincipal: service, context }));
  }

  test.each([
    [undefined, ACCOUNT, parentArn('Parent'), 'states.amazonaws.com', 'Allowed'],
    [undefined, ACCOUNT, parentArn('AnyOtherParent'), 'states.amazonaws.com', 'Allowed'],
    [undefined, '999999999999', parentArn('Parent', '999999999999'), 'states.amazonaws.com', 'Denied'],
    [undefined, ACCOUNT, stateMachineArn('Parent', { region: 'eu-west-1' }), 'states.amazonaws.com', 'Denied'],
    [undefined, ACCOUNT, parentArn('Parent'), 'lambda.amazonaws.com', 'Denied'],
    ['Parent', ACCOUNT, parentArn('Parent'), 'states.amazonaws.com', 'Allowed'],
    ['Parent', ACCOUNT, parentArn('ParentAdmin'), 'states.amazonaws.com', 'Denied'],
    // The named parent's own versions and aliases, and nothing else.
    ['Parent', ACCOUNT, parentArn('Parent:PROD'), 'states.amazonaws.com', 'Allowed'],
    ['Parent', ACCOUNT, parentArn('Parent:7'), 'states.amazonaws.com', 'Allowed'],
    ['Parent', ACCOUNT, parentArn('ParentAdmin:PROD'), 'states.amazonaws.com', 'Denied'],
    ['Parent', ACCOUNT, parentArn('Parent2'), 'states.amazonaws.com', 'Denied'],
    ['Parent', ACCOUNT, parentArn('Other'), 'states.amazonaws.com', 'Denied'],
    ['Parent', ACCOUNT, parentArn('Other:Parent'), 'states.amazonaws.com', 'Denied'],
    ['Parent', ACCOUNT, stateMachineArn('Parent:PROD', { region: 'eu-west-1' }), 'states.amazonaws.com', 'Denied'],
    [
      'Parent',
      ACCOUNT,
      `arn:${PARTITION}:states:${REGION}:${ACCOUNT}:execution:Parent:run-1`,
      'states.amazonaws.com',
      'Denied',
    ],
    ['Parent', '999999999999', parentArn('Parent:PROD', '999999999999'), 'states.amazonaws.com', 'Denied'],
  ])(
    'parentStateMachineName %s: %s assuming from %s via %s is %s',
    async (name, sourceAccount, sourceArn, service, expected) => {
      expect(await trust(name, { 'aws:SourceAccount': sourceAccount, 'aws:SourceArn': sourceArn }, service)).toBe(
        expected,
      );
    },
  );
});
