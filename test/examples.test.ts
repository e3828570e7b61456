import { Template } from 'aws-cdk-lib/assertions';
import { buildExampleApp } from '../examples/app';
import { buildCrossAccountApp, CHILD_ACCOUNT, PARENT_ACCOUNT, REGION } from '../examples/cross-account';
import {
  findRoleLogicalIds,
  rolePolicies,
  simulate,
  simulateTrust,
  verdict,
  parentRolePolicies,
} from './util/simulator';

describe('example apps synthesize offline', () => {
  test('the single-account example grants each child its pattern, and the Map Run of its Distributed Map', () => {
    const { stack } = buildExampleApp();
    const template = Template.fromStack(stack).toJSON();
    const documents = parentRolePolicies(template, {
      partition: 'aws',
      region: REGION,
      account: PARENT_ACCOUNT,
    }).identityPolicies;
    const statements = documents.flatMap((d) => d.Statement).map((s: any) => [s.Action].flat().join(','));
    // The Express child started with .sync:2 gets the Standard .sync set: nothing on its express: executions.
    expect(JSON.stringify(documents)).not.toContain(':express:');
    expect(statements).toEqual([
      'states:StartExecution',
      'states:DescribeExecution,states:StopExecution',
      'events:PutTargets,events:PutRule,events:DescribeRule',
      // The Map Run policy, on the parent itself.
      'states:StartExecution',
      'states:DescribeExecution,states:StopExecution',
      'states:RedriveExecution',
    ]);
  });

  test('the cross-account example: the parent may assume the starter, which may start and poll the child', async () => {
    const { parentStack, childStack } = buildCrossAccountApp();
    const parentEnv = { partition: 'aws', region: REGION, account: PARENT_ACCOUNT };
    const childEnv = { partition: 'aws', region: REGION, account: CHILD_ACCOUNT };
    const parentTemplate = Template.fromStack(parentStack).toJSON();
    const childTemplate = Template.fromStack(childStack).toJSON();
    const parent = rolePolicies(parentTemplate, findRoleLogicalIds(parentTemplate)[0], parentEnv);
    const starter = rolePolicies(
      childTemplate,
      findRoleLogicalIds(childTemplate).find((id) => id.startsWith('ChildStarter'))!,
      childEnv,
    );
    const starterArn = `arn:aws:iam::${CHILD_ACCOUNT}:role/CrossAccountChildStarter`;
    const childArn = `arn:aws:states:${REGION}:${CHILD_ACCOUNT}:stateMachine:CrossAccountChild`;
    const parentArn = `arn:aws:states:${REGION}:${PARENT_ACCOUNT}:stateMachine:CrossAccountParent`;

    expect(verdict(await simulate(parent, { action: 'sts:AssumeRole', resource: starterArn }, parentEnv))).toBe(
      'Allowed',
    );
    expect(verdict(await simulate(parent, { action: 'states:StartExecution', resource: childArn }, parentEnv))).toBe(
      'Denied',
    );
    expect(
      verdict(
        await simulateTrust(starter, starterArn, {
          principalArn: `arn:aws:iam::${PARENT_ACCOUNT}:role/CrossAccountParentRole`,
          context: { 'sts:ExternalId': parentArn },
        }),
      ),
    ).toBe('Allowed');
    expect(verdict(await simulate(starter, { action: 'states:StartExecution', resource: childArn }, childEnv))).toBe(
      'Allowed',
    );
    const execution = `arn:aws:states:${REGION}:${CHILD_ACCOUNT}:execution:CrossAccountChild:run-1`;
    expect(
      verdict(await simulate(starter, { action: 'states:DescribeExecution', resource: execution }, childEnv)),
    ).toBe('Allowed');
  });
});
