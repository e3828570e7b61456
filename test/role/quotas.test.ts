import { AspectPriority, Aspects, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole } from '../../lib';
import { attachedPolicies, checkQuotas, QuotaCheck } from '../util/benchmark';
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
import { resolveTemplate } from '../util/resolve';
import { parentRoleId } from '../util/simulator';

const ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };
const INLINE_QUOTA = 10_240;
const MANAGED_QUOTA = 6_144;

interface Sizes {
  readonly inline: number[];
  readonly managed: number[];
  readonly resources: string[];
}

/** Deployed sizes (characters without white space, what IAM counts) of every policy in the template. */
function sizes(template: Template): Sizes {
  const resolved = resolveTemplate(template.toJSON(), ENV);
  const out: Sizes = { inline: [], managed: [], resources: [] };
  for (const resource of Object.values<any>(resolved.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const document = resource.Properties.PolicyDocument;
    (resource.Type === 'AWS::IAM::Policy' ? out.inline : out.managed).push(JSON.stringify(document).length);
    for (const statement of document.Statement) out.resources.push(...[statement.Resource].flat());
  }
  return out;
}

function syncChildren(parentRole: NestedWorkflowRole, count: number, name = (i: number) => `Child${i}`) {
  const stack = parentRole.node.scope as any;
  for (let i = 0; i < count; i++) {
    parentRole.addChild(importedChild(stack, `C${i}`, stateMachineArn(name(i))), {
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    });
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('IAM quotas', () => {
  test('300 synchronous children fit: inline quota, at most 10 managed policies of 6,144 characters', () => {
    // GIVEN
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    // WHEN
    syncChildren(parentRole, 300);
    // THEN
    const { inline, managed, resources } = sizes(Template.fromStack(stack));
    expect(sum(inline)).toBeLessThanOrEqual(INLINE_QUOTA);
    expect(managed.length).toBeGreaterThan(0);
    expect(managed.length).toBeLessThanOrEqual(10);
    for (const size of managed) expect(size).toBeLessThanOrEqual(MANAGED_QUOTA);
    // Every child once on each of its resources, nothing else.
    const expected = [
      ...Array.from({ length: 300 }, (_, i) => stateMachineArn(`Child${i}`)),
      ...Array.from({ length: 300 }, (_, i) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child${i}:*`),
      `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
    ];
    expect([...resources].sort()).toEqual([...expected].sort());
  });

  test('grants stay inline while they fit', () => {
    const stack = newStack();
    syncChildren(new NestedWorkflowRole(stack, 'ParentRole'), 20);
    const { inline, managed } = sizes(Template.fromStack(stack));
    expect(inline).toHaveLength(1);
    expect(managed).toHaveLength(0);
  });

  test('the role default policy shares the inline quota', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    syncChildren(parentRole, 60);
    // Other grants of the parent (a task's Lambda function, say) land in the role's default policy.
    for (let i = 0; i < 60; i++) {
      parentRole.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:SomeRatherLongFunctionName${i}`],
        }),
      );
    }
    const { inline, managed } = sizes(Template.fromStack(stack));
    expect(inline).toHaveLength(2);
    expect(sum(inline)).toBeLessThanOrEqual(INLINE_QUOTA);
    expect(managed.length).toBeGreaterThan(0);
  });

  test('in-stack children with generated names are sized as CloudFormation names them', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    for (let i = 0; i < 80; i++) {
      parentRole.addChild(inStackChild(stack, `Child${i}`), { integrationPattern: sfn.IntegrationPattern.RUN_JOB });
    }
    const template = Template.fromStack(stack);
    // 80 children named `<logical id>-<12 characters>` at deploy time (about 175 characters each) overflow the inline policy.
    expect(Object.keys(template.findResources('AWS::IAM::Policy'))).toHaveLength(1);
    expect(Object.keys(template.findResources('AWS::IAM::ManagedPolicy')).length).toBeGreaterThanOrEqual(1);
  });

  test('past the quotas, synthesis fails and says how many children fit', () => {
    const longName = (i: number) => `${'x'.repeat(76)}${String(i).padStart(4, '0')}`;
    const stack = newStack();
    syncChildren(new NestedWorkflowRole(stack, 'ParentRole'), 600, longName);
    let message = '';
    try {
      Template.fromStack(stack);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(
      /NestedWorkflowRole grants for 600 children do not fit IAM's quotas \(10240 characters of inline policy per role, 10 managed policies of 6144\): the first \d+ children fit\. Split the children across several parent state machines/,
    );
    const fit = Number(/the first (\d+) children fit/.exec(message)![1]);

    // The number is exact: that many children synthesize, one more does not.
    const fits = newStack();
    syncChildren(new NestedWorkflowRole(fits, 'ParentRole'), fit, longName);
    const { inline, managed } = sizes(Template.fromStack(fits));
    expect(managed).toHaveLength(10);
    expect(sum(inline)).toBeLessThanOrEqual(INLINE_QUOTA);
    for (const size of managed) expect(size).toBeLessThanOrEqual(MANAGED_QUOTA);

    const tooMany = newStack();
    syncChildren(new NestedWorkflowRole(tooMany, 'ParentRole'), fit + 1, longName);
    expect(() => Template.fromStack(tooMany)).toThrow(/the first \d+ children fit/);
  });

  test('maxManagedPolicies: 20 raises the limit for accounts with the quota increase', () => {
    const stack = newStack();
    syncChildren(new NestedWorkflowRole(stack, 'ParentRole', { maxManagedPolicies: 20 }), 600);
    const { managed } = sizes(Template.fromStack(stack));
    expect(managed.length).toBeGreaterThan(10);
    expect(managed.length).toBeLessThanOrEqual(20);
  });

  test('maxManagedPolicies: 0 keeps every grant inline or fails', () => {
    const stack = newStack();
    syncChildren(new NestedWorkflowRole(stack, 'ParentRole', { maxManagedPolicies: 0 }), 300);
    expect(() => Template.fromStack(stack)).toThrow(
      /0 managed policies of 6144\): the first \d+ children fit\.[^\n]* set `maxManagedPolicies: 20`/,
    );
  });
});

/** The parent role's policies as deployed, measured as IAM counts them, against IAM's quotas. */
function deployedQuotas(stack: Stack): QuotaCheck {
  const template = Template.fromStack(stack).toJSON();
  return checkQuotas(attachedPolicies(template, parentRoleId(template)));
}

/**
 * Either every deployed policy of the role built with `count` children fits IAM's quotas, or synthesis fails with
 * "the first N children fit" and N is true: N children synthesize and fit, N + 1 do not synthesize.
 *
 * @returns the N of the error, or undefined when `count` children fit
 */
function expectFitsOrTrueN(build: (count: number) => Stack, count: number): number | undefined {
  const fit = firstFit(build(count));
  if (fit === undefined) {
    const quotas = deployedQuotas(build(count));
    expect(quotas.problems).toEqual([]);
    return undefined;
  }
  expect(fit).toBeLessThan(count);
  if (fit > 0) expect(deployedQuotas(build(fit)).problems).toEqual([]);
  expect(firstFit(build(fit + 1))).toBe(fit);
  return fit;
}

describe('IAM quotas with other grants on the role', () => {
  const longName = (i: number) => `${'n'.repeat(76)}${String(i).padStart(4, '0')}`;
  const patterns = ['REQUEST_RESPONSE', 'RUN_JOB'] as const;

  test.each(patterns)(
    '249 children with 80-character names and 40 grants on CfnParameter ARNs (%s): every policy fits or the first N fit',
    (pattern) => {
      const build = (count: number) => {
        const stack = newStack();
        const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
        for (let i = 0; i < count; i++) {
          parentRole.addChild(importedChild(stack, `C${i}`, stateMachineArn(longName(i))), {
            integrationPattern: sfn.IntegrationPattern[pattern],
          });
        }
        for (let i = 0; i < 40; i++) {
          // The deployed ARN is far longer than the `{"Ref": ...}` of the template.
          const arn = new CfnParameter(stack, `FunctionArn${i}`, {
            default: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${'f'.repeat(40)}${String(i).padStart(4, '0')}`,
          });
          parentRole.role.addToPrincipalPolicy(
            new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [arn.valueAsString] }),
          );
        }
        return stack;
      };
      const fit = expectFitsOrTrueN(build, 249);
      // Each parameter may deploy as up to 2,048 characters: the grants leave the inline quota to the role's own.
      if (pattern === 'REQUEST_RESPONSE') expect(fit).toBeUndefined();
      else expect(fit).toBeGreaterThan(200);
    },
  );

  test.each(patterns)(
    "500 children and 130 literal grants (%s): aws-cdk-lib's overflow policies count toward the 10 managed policies",
    (pattern) => {
      const build = (count: number) => {
        const stack = newStack();
        const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
        for (let i = 0; i < count; i++) {
          parentRole.addChild(importedChild(stack, `C${i}`, stateMachineArn(`Child${i}`)), {
            integrationPattern: sfn.IntegrationPattern[pattern],
          });
        }
        for (let i = 0; i < 130; i++) {
          parentRole.role.addToPrincipalPolicy(
            new iam.PolicyStatement({
              actions: ['sqs:SendMessage'],
              resources: [`arn:aws:sqs:${REGION}:${ACCOUNT}:${'q'.repeat(120)}${String(i).padStart(4, '0')}`],
            }),
          );
        }
        return stack;
      };
      // aws-cdk-lib moves what exceeds 10,000 characters of the DefaultPolicy into OverflowPolicyN managed policies.
      const overflow = Template.fromStack(build(1)).findResources('AWS::IAM::ManagedPolicy');
      expect(Object.keys(overflow).filter((id) => id.includes('OverflowPolicy')).length).toBeGreaterThanOrEqual(1);
      const fit = expectFitsOrTrueN(build, 500);
      if (pattern === 'RUN_JOB') expect(fit).toBeDefined();
    },
  );

  test("a large inline policy of the user's own counts toward the inline quota", () => {
    // GIVEN a role with an inline policy of about 6,000 characters attached by the user
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    const own = new iam.Policy(stack, 'OwnPolicy', {
      statements: Array.from(
        { length: 40 },
        (_, i) =>
          new iam.PolicyStatement({
            actions: ['s3:GetObject'],
            resources: [`arn:aws:s3:::${'b'.repeat(100)}${i}/*`],
          }),
      ),
    });
    parentRole.role.attachInlinePolicy(own);
    // WHEN children need more than what is left
    syncChildren(parentRole, 60);
    // THEN the inline policies stay within the quota together, the rest goes to managed policies
    const quotas = deployedQuotas(stack);
    expect(quotas.problems).toEqual([]);
    expect(quotas.inlineCharacters).toBeGreaterThan(6_000);
    expect(quotas.managedCharacters.length).toBeGreaterThan(0);
  });

  test('managed policies attached by the user count toward the 10', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    for (const name of ['ReadOnlyAccess', 'AWSXrayWriteOnlyAccess', 'CloudWatchLogsFullAccess']) {
      parentRole.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName(name));
    }
    syncChildren(parentRole, 600);
    expect(() => Template.fromStack(stack)).toThrow(
      /the first \d+ children fit\. The role's other policies take 3 of the managed policies \(arn:<partition>:iam::aws:policy\/ReadOnlyAccess, arn:<partition>:iam::aws:policy\/AWSXrayWriteOnlyAccess, arn:<partition>:iam::aws:policy\/CloudWatchLogsFullAccess\)\./,
    );
  });

  test('every kind of policy attached to the role is counted, and named in the error', () => {
    // GIVEN a role with inline policies of every kind and managed policies of every kind
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { maxManagedPolicies: 5 });
    const role = parentRole.role as iam.Role;
    const cfnRole = role.node.defaultChild as iam.CfnRole;
    const document = (resource: string) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resource }],
    });
    cfnRole.policies = [{ policyName: 'Escape', policyDocument: document(`arn:aws:s3:::${'e'.repeat(50)}/*`) }];
    new iam.CfnRolePolicy(stack, 'RolePolicy', {
      roleName: role.roleName,
      policyName: 'RolePolicy',
      policyDocument: document(`arn:aws:s3:::${'r'.repeat(50)}/*`),
    });
    const other = inStackChild(stack, 'Other');
    other.grantStartExecution(role);
    other.grantExecution(role, 'states:DescribeExecution');
    role.addManagedPolicy(iam.ManagedPolicy.fromManagedPolicyArn(stack, 'Imported', Fn.importValue('PolicyArn')));
    role.addManagedPolicy(
      iam.ManagedPolicy.fromManagedPolicyArn(stack, 'Literal', `arn:aws:iam::${ACCOUNT}:policy/Own`),
    );
    new iam.ManagedPolicy(stack, 'Naming', {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::b'] })],
    });
    // WHEN more children than the 2 managed policies left hold
    syncChildren(parentRole, 200);
    // THEN the error names them all
    let message = '';
    try {
      Template.fromStack(stack);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('the first');
    expect(message).toContain("The role's other policies take up to");
    for (const name of [
      'Stack/ParentRole/Resource Escape',
      'Stack/RolePolicy',
      'Stack/ParentRole/Resource/DefaultPolicy/Resource',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).toContain(
      `3 of the managed policies (<token>, arn:aws:iam::${ACCOUNT}:policy/Own, Stack/Naming/Resource)`,
    );
  });

  test('a precreated role (iam.Role.customizeRoles) has no other policies to count: the grants are packed as usual', () => {
    const stack = newStack();
    iam.Role.customizeRoles(stack, { usePrecreatedRoles: { 'Stack/ParentRole/Resource': 'precreated-role' } });
    new NestedWorkflowRole(stack, 'ParentRole', { child: importedChild(stack, 'Child', stateMachineArn('Child')) });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowPolicy',
      Roles: ['precreated-role'],
    });
  });

  test('a Distributed Map of the parent: its grants (DistributedMapPolicy on recent aws-cdk-lib) count', () => {
    // GIVEN a parent whose fromChainable body holds a Distributed Map, and children that fill the inline quota
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    syncChildren(parentRole, 45, (i) => `${'d'.repeat(60)}${i}`);
    const map = new sfn.DistributedMap(stack, 'Map');
    map.itemProcessor(new sfn.Pass(stack, 'Item'));
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(map),
    });
    // THEN every inline policy of the role fits together (the grants that do not fit go to a managed policy)
    const quotas = deployedQuotas(stack);
    expect(quotas.problems).toEqual([]);
    expect(quotas.inlineCharacters).toBeGreaterThan(9_000);
    expect(quotas.managedCharacters.length).toBeGreaterThanOrEqual(1);
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    const mapPolicy = Object.keys(policies).find((id) => id.includes('DistributedMapPolicy'));
    if (mapPolicy) {
      expect(policies[mapPolicy].Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^ParentRole/) }]);
    }
  });

  test('grants added to the role after the packing are caught at validation', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    syncChildren(parentRole, 30);
    // A read-only-priority aspect that still adds statements (after the grants were packed and the role split).
    Aspects.of(stack).add(
      {
        visit(node) {
          if (node !== parentRole.role) return;
          for (let i = 0; i < 60; i++) {
            parentRole.role.addToPrincipalPolicy(
              new iam.PolicyStatement({
                actions: ['sqs:SendMessage'],
                resources: [`arn:aws:sqs:${REGION}:${ACCOUNT}:${'q'.repeat(120)}${i}`],
              }),
            );
          }
        },
      },
      { priority: AspectPriority.READONLY },
    );
    expect(() => Template.fromStack(stack)).toThrow(
      /grants for 30 children do not fit IAM's quotas .*: the first \d+ children fit\. The role's other policies take (up to \d+ of the|all of the) inline characters \(.*Stack\/ParentRole\/Resource\/DefaultPolicy\/Resource\)/,
    );
  });
});
