import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole, NestedWorkflowTargetRole } from '../../lib';
import {
  ACCOUNT,
  importedChild,
  inStackChild,
  newStack,
  OTHER_ACCOUNT,
  PARTITION,
  policyDocuments,
  REGION,
  stateMachineArn,
} from '../util/fixtures';
import { ChildScenario, probesFor, ProbeCase } from '../util/probes';
import { ResolveEnv } from '../util/resolve';
import { findRoleLogicalIds, RolePolicies, rolePolicies, simulate, simulateTrust, verdict } from '../util/simulator';

const { RUN_JOB, REQUEST_RESPONSE, WAIT_FOR_TASK_TOKEN } = sfn.IntegrationPattern;
const PARENT_ENV: ResolveEnv = { partition: PARTITION, region: REGION, account: ACCOUNT };
const CHILD_ENV: ResolveEnv = { partition: PARTITION, region: REGION, account: OTHER_ACCOUNT };
const TARGET_ROLE_ARN = `arn:${PARTITION}:iam::${OTHER_ACCOUNT}:role/ChildStarter`;
const PARENT_ROLE_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:role/ParentRole`;
const PARENT_ARN = stateMachineArn('Parent');
const KEY_ARN = `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function policiesOf(stack: Stack, prefix: string, env: ResolveEnv): RolePolicies {
  const template = Template.fromStack(stack).toJSON();
  const [role] = findRoleLogicalIds(template).filter((id) => id.startsWith(prefix));
  return rolePolicies(template, role, env);
}

async function failed(policies: RolePolicies, probes: ProbeCase[], env: ResolveEnv): Promise<string[]> {
  const out: string[] = [];
  for (const probe of probes) {
    const decision = verdict(await simulate(policies, probe, env));
    if (decision !== probe.expect) out.push(`${probe.label}: expected ${probe.expect}, got ${decision}`);
  }
  return out;
}

function statementsOf(stack: Stack): any[] {
  const documents = Object.values(policyDocuments(Template.fromStack(stack)));
  expect(documents).toHaveLength(1);
  return documents[0].Statement;
}

describe('cross-account children through credentials', () => {
  function parentWithCrossAccountChild(pattern = RUN_JOB) {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child', { account: OTHER_ACCOUNT })),
      integrationPattern: pattern,
      credentials: { role: sfn.TaskRole.fromRole(iam.Role.fromRoleArn(stack, 'Starter', TARGET_ROLE_ARN)) },
    });
    return { stack, parentRole };
  }

  test('the parent role gets only sts:AssumeRole on the target role', () => {
    const { stack } = parentWithCrossAccountChild();
    expect(statementsOf(stack)).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Resource: TARGET_ROLE_ARN }]);
  });

  test('simulated: AssumeRole on the target role only; no states or events call is allowed to the parent', async () => {
    const { stack } = parentWithCrossAccountChild();
    const policies = policiesOf(stack, 'ParentRole', PARENT_ENV);
    const probe = (action: string, resource: string) => simulate(policies, { action, resource }, PARENT_ENV);
    expect(verdict(await probe('sts:AssumeRole', TARGET_ROLE_ARN))).toBe('Allowed');
    expect(
      verdict(await probe('sts:AssumeRole', `arn:${PARTITION}:iam::${OTHER_ACCOUNT}:role/ChildStarterAdmin`)),
    ).toBe('Denied');
    for (const p of probesFor({ ...CHILD_ENV, name: 'Child', pattern: 'RUN_JOB' }, PARENT_ENV)) {
      expect([p.label, verdict(await simulate(policies, p, PARENT_ENV))]).toEqual([p.label, 'Denied']);
    }
  });

  test('credentials are taken through addChild too, beside same-account children', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Local', stateMachineArn('Local')),
    });
    parentRole.addChild(importedChild(stack, 'Remote', stateMachineArn('Remote', { account: OTHER_ACCOUNT })), {
      integrationPattern: REQUEST_RESPONSE,
      credentials: { role: sfn.TaskRole.fromRole(iam.Role.fromRoleArn(stack, 'Starter', TARGET_ROLE_ARN)) },
    });
    expect(statementsOf(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Local') },
      { Action: 'sts:AssumeRole', Effect: 'Allow', Resource: TARGET_ROLE_ARN },
    ]);
  });

  test.each([
    [
      'a role chosen at run time',
      { integrationPattern: RUN_JOB, credentials: { role: sfn.TaskRole.fromRoleArnJsonPath('$.RoleArn') } },
      /`credentials.role` must be a role known at synthesis \(sfn.TaskRole.fromRole\(role\)\)/,
    ],
    [
      // The copy of the role-ARN form in this check had drifted: it accepted a role ARN without a name.
      'a role ARN without a name',
      { integrationPattern: RUN_JOB, credentials: 'nameless' },
      /`credentials.role` must be an IAM role ARN \(arn:<partition>:iam::<account>:role\/<name>\), got: arn:aws:iam::222222222222:role\/\. Pass the role the parent assumes/,
    ],
    [
      'a user ARN',
      { integrationPattern: RUN_JOB, credentials: 'user' },
      /`credentials.role` must be an IAM role ARN \(arn:<partition>:iam::<account>:role\/<name>\), got: arn:aws:iam::222222222222:user\/Alice/,
    ],
    [
      'WAIT_FOR_TASK_TOKEN across accounts',
      { integrationPattern: WAIT_FOR_TASK_TOKEN, credentials: 'target' },
      /uses WAIT_FOR_TASK_TOKEN, but task tokens cannot cross accounts/,
    ],
    [
      'another account without credentials',
      { integrationPattern: RUN_JOB },
      /pass `credentials: \{ role: sfn.TaskRole.fromRole\(targetRole\) \}` to addChild/,
    ],
    [
      'a key with credentials',
      { integrationPattern: RUN_JOB, credentials: 'target', key: true },
      /Pass `encryptionKey` to the NestedWorkflowTargetRole in the child's account instead/,
    ],
  ])('refuses %s', (_what, input: any, message) => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Local', stateMachineArn('Local')),
    });
    const roleArns: { [kind: string]: string } = {
      target: TARGET_ROLE_ARN,
      nameless: `arn:aws:iam::${OTHER_ACCOUNT}:role/`,
      user: `arn:aws:iam::${OTHER_ACCOUNT}:user/Alice`,
    };
    const credentials =
      typeof input.credentials === 'string'
        ? { role: sfn.TaskRole.fromRole(iam.Role.fromRoleArn(stack, 'Starter', roleArns[input.credentials])) }
        : input.credentials;
    const encryptionKey = input.key ? kms.Key.fromKeyArn(stack, 'Key', KEY_ARN) : undefined;
    const child = importedChild(stack, 'Remote', stateMachineArn('Remote', { account: OTHER_ACCOUNT }));
    expect(() =>
      parentRole.addChild(child, { integrationPattern: input.integrationPattern, credentials, encryptionKey }),
    ).toThrow(message);
  });
});

describe('NestedWorkflowTargetRole', () => {
  function targetRole(pattern = RUN_JOB) {
    const app = new App({ context: { 'aws:cdk:disable-creation-stack-traces': true } });
    const stack = new Stack(app, 'ChildStack', { env: { account: OTHER_ACCOUNT, region: REGION } });
    const child = importedChild(stack, 'Child', stateMachineArn('Child', { account: OTHER_ACCOUNT }));
    const starter = new NestedWorkflowTargetRole(stack, 'ChildStarter', {
      child,
      integrationPattern: pattern,
      parentRole: iam.Role.fromRoleArn(stack, 'ParentRole', PARENT_ROLE_ARN),
      parentStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Parent', PARENT_ARN),
    });
    return { stack, starter };
  }

  test('trusts only the parent role, with the parent state machine ARN as external id', () => {
    const { stack } = targetRole();
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': PARENT_ARN } },
            Effect: 'Allow',
            Principal: { AWS: PARENT_ROLE_ARN },
          },
        ],
        Version: '2012-10-17',
      },
    });
  });

  test('grants Start, Describe and Stop on its child only, and no events', () => {
    const { stack } = targetRole();
    const child = stateMachineArn('Child', { account: OTHER_ACCOUNT });
    expect(statementsOf(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: child },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: `arn:aws:states:${REGION}:${OTHER_ACCOUNT}:execution:Child:*`,
      },
    ]);
  });

  test('simulated: what the parent calls through it is Allowed, near misses and events are Denied', async () => {
    const { stack } = targetRole();
    const policies = policiesOf(stack, 'ChildStarter', CHILD_ENV);
    const scenario: ChildScenario = { ...CHILD_ENV, name: 'Child', pattern: 'RUN_JOB' };
    // A cross-account .sync task only polls: the managed events rule is not needed in the child's account.
    const probes = probesFor(scenario, CHILD_ENV).map((p) =>
      p.action.startsWith('events:') ? { ...p, expect: 'Denied' as const } : p,
    );
    expect(await failed(policies, probes, CHILD_ENV)).toEqual([]);
  });

  test.each([
    [PARENT_ROLE_ARN, PARENT_ARN, 'Allowed'],
    [PARENT_ROLE_ARN, undefined, 'Denied'],
    [PARENT_ROLE_ARN, stateMachineArn('OtherParent'), 'Denied'],
    [`arn:${PARTITION}:iam::${ACCOUNT}:role/SomeoneElse`, PARENT_ARN, 'Denied'],
  ])('simulated trust: %s with external id %s is %s', async (principalArn, externalId, expected) => {
    const { stack } = targetRole();
    const policies = policiesOf(stack, 'ChildStarter', CHILD_ENV);
    const context = externalId ? { 'sts:ExternalId': externalId } : undefined;
    expect(verdict(await simulateTrust(policies, TARGET_ROLE_ARN, { principalArn, context }))).toBe(expected);
  });

  test('addChild grants another child of the same account for the same parent', () => {
    const { stack, starter } = targetRole(REQUEST_RESPONSE);
    starter.addChild(importedChild(stack, 'Second', stateMachineArn('Second', { account: OTHER_ACCOUNT })), {
      integrationPattern: REQUEST_RESPONSE,
    });
    expect(statementsOf(stack)).toEqual([
      {
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: [
          stateMachineArn('Child', { account: OTHER_ACCOUNT }),
          stateMachineArn('Second', { account: OTHER_ACCOUNT }),
        ],
      },
    ]);
  });

  test('refuses credentials on a target role, which is itself the assumed role', () => {
    const { stack, starter } = targetRole();
    const credentials = { role: sfn.TaskRole.fromRole(iam.Role.fromRoleArn(stack, 'Other', TARGET_ROLE_ARN)) };
    const second = importedChild(stack, 'Second', stateMachineArn('Second', { account: OTHER_ACCOUNT }));
    expect(() => starter.addChild(second, { credentials } as any)).toThrow(
      /`credentials` do not apply to a NestedWorkflowTargetRole/,
    );
  });

  test('refuses a parentRole that is not a role ARN', () => {
    const app = new App();
    const stack = new Stack(app, 'ChildStack', { env: { account: OTHER_ACCOUNT, region: REGION } });
    expect(
      () =>
        new NestedWorkflowTargetRole(stack, 'ChildStarter', {
          child: importedChild(stack, 'Child', stateMachineArn('Child', { account: OTHER_ACCOUNT })),
          parentRole: { roleArn: `arn:${PARTITION}:iam::${ACCOUNT}:user/Alice` } as iam.IRole,
          parentStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Parent', PARENT_ARN),
        }),
    ).toThrow(
      /`parentRole` must be an IAM role ARN \(arn:<partition>:iam::<account>:role\/<name>\), got: arn:aws:iam::111111111111:user\/Alice/,
    );
  });

  test('refuses a child in another account than its own stack', () => {
    const app = new App();
    const stack = new Stack(app, 'ChildStack', { env: { account: OTHER_ACCOUNT, region: REGION } });
    expect(
      () =>
        new NestedWorkflowTargetRole(stack, 'ChildStarter', {
          child: importedChild(stack, 'Child', stateMachineArn('Child')),
          parentRole: iam.Role.fromRoleArn(stack, 'ParentRole', PARENT_ROLE_ARN),
          parentStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Parent', PARENT_ARN),
        }),
    ).toThrow(/is in account 111111111111, but this NestedWorkflowTargetRole's stack is in account 222222222222/);
  });

  test('refuses a parent in another region than the child', () => {
    const app = new App();
    const stack = new Stack(app, 'ChildStack', { env: { account: OTHER_ACCOUNT, region: REGION } });
    const parentArn = stateMachineArn('Parent', { region: 'eu-west-1' });
    expect(
      () =>
        new NestedWorkflowTargetRole(stack, 'ChildStarter', {
          child: importedChild(stack, 'Child', stateMachineArn('Child', { account: OTHER_ACCOUNT })),
          parentRole: iam.Role.fromRoleArn(stack, 'ParentRole', PARENT_ROLE_ARN),
          parentStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Parent', parentArn),
        }),
    ).toThrow(
      `\`parentStateMachine\` ${parentArn} is in region eu-west-1, but this role's stack (and its child) is in region us-east-1.`,
    );
  });

  test('refuses a parent state machine alias as external id', () => {
    const app = new App();
    const stack = new Stack(app, 'ChildStack', { env: { account: OTHER_ACCOUNT, region: REGION } });
    expect(
      () =>
        new NestedWorkflowTargetRole(stack, 'ChildStarter', {
          child: importedChild(stack, 'Child', stateMachineArn('Child', { account: OTHER_ACCOUNT })),
          parentRole: iam.Role.fromRoleArn(stack, 'ParentRole', PARENT_ROLE_ARN),
          parentStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Parent', `${PARENT_ARN}:PROD`),
        }),
    ).toThrow(/`parentStateMachine` must be the unqualified state machine ARN/);
  });
});

describe('Express children', () => {
  test('RUN_JOB on an Express child in the stack grants only StartSyncExecution', () => {
    const stack = newStack();
    const child = inStackChild(stack, 'Child', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      stateMachineName: 'Fast',
    });
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    const logicalId = stack.resolve((child.node.defaultChild as sfn.CfnStateMachine).logicalId);
    expect(statementsOf(stack)).toEqual([
      { Action: 'states:StartSyncExecution', Effect: 'Allow', Resource: { Ref: logicalId } },
    ]);
  });

  test.each([REQUEST_RESPONSE, WAIT_FOR_TASK_TOKEN])('%s on an Express child grants StartExecution only', (pattern) => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Fast')),
      stateMachineType: sfn.StateMachineType.EXPRESS,
      integrationPattern: pattern,
    });
    expect(statementsOf(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Fast') },
    ]);
  });

  test('simulated: an imported Express child run synchronously gets StartSyncExecution and nothing else', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    parentRole.addChild(importedChild(stack, 'Child', stateMachineArn('Fast')), {
      integrationPattern: RUN_JOB,
      stateMachineType: sfn.StateMachineType.EXPRESS,
    });
    const policies = policiesOf(stack, 'ParentRole', PARENT_ENV);
    const probes = probesFor({ ...PARENT_ENV, name: 'Fast', pattern: 'RUN_JOB' }, PARENT_ENV).map((p) => {
      // startSyncExecution is the call; StartExecution, Describe/Stop (no execution: ARN for Express) and events are not.
      if (p.action === 'states:StartSyncExecution' && p.label === 'StartSyncExecution on Fast') {
        return { ...p, expect: 'Allowed' as const };
      }
      return p.needed ? { ...p, expect: 'Denied' as const } : p;
    });
    expect(await failed(policies, probes, PARENT_ENV)).toEqual([]);
  });

  test('a declared type that contradicts the state machine is refused', () => {
    const stack = newStack();
    const child = inStackChild(stack, 'Child');
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          child,
          stateMachineType: sfn.StateMachineType.EXPRESS,
        }),
    ).toThrow(/`stateMachineType` is EXPRESS, but the child Stack\/Child is STANDARD/);
  });
});

describe('children encrypted with a customer managed key', () => {
  test('RUN_JOB grants kms:Decrypt on the key, only for the child encryption context', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
      integrationPattern: RUN_JOB,
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN),
    });
    const [start, executions, events, decrypt] = statementsOf(stack);
    expect([start.Action, executions.Action, events.Action]).toEqual([
      'states:StartExecution',
      ['states:DescribeExecution', 'states:StopExecution'],
      ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
    ]);
    expect(decrypt).toEqual({
      Action: 'kms:Decrypt',
      Condition: { StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': [stateMachineArn('Child')] } },
      Effect: 'Allow',
      Resource: KEY_ARN,
    });
  });

  test('REQUEST_RESPONSE needs no key', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN),
    });
    expect(JSON.stringify(statementsOf(stack))).not.toContain('kms:');
  });

  test('simulated: Decrypt with the child context is Allowed; another context or key is Denied', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
      integrationPattern: RUN_JOB,
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', KEY_ARN),
    });
    parentRole.addChild(importedChild(stack, 'Fast', stateMachineArn('Fast')), {
      integrationPattern: RUN_JOB,
      stateMachineType: sfn.StateMachineType.EXPRESS,
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key2', KEY_ARN),
    });
    const policies = policiesOf(stack, 'ParentRole', PARENT_ENV);
    const decrypt = async (resource: string, context?: string) =>
      verdict(
        await simulate(
          policies,
          {
            action: 'kms:Decrypt',
            resource,
            context: context ? { 'kms:EncryptionContext:aws:states:stateMachineArn': context } : undefined,
          },
          PARENT_ENV,
        ),
      );
    expect(await decrypt(KEY_ARN, stateMachineArn('Child'))).toBe('Allowed');
    expect(await decrypt(KEY_ARN, stateMachineArn('Fast'))).toBe('Allowed');
    expect(await decrypt(KEY_ARN, stateMachineArn('ChildAdmin'))).toBe('Denied');
    expect(await decrypt(KEY_ARN)).toBe('Denied');
    expect(await decrypt(KEY_ARN.replace('1234abcd', '9999abcd'), stateMachineArn('Child'))).toBe('Denied');
  });
});
