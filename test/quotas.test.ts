import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole } from '../lib';
import { ACCOUNT, importedChild, inStackChild, newStack, PARTITION, REGION, stateMachineArn } from './util/fixtures';
import { resolveTemplate } from './util/resolve';

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
