import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { findRoleUsers } from '../../lib/private/read/role-users';
import { inStackChild, newStack } from '../util/fixtures';

describe('findRoleUsers', () => {
  test('finds L2 and L1 state machines that use the role, created before or after it, and nothing else', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    const other = new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    const l2 = inStackChild(stack, 'L2', { role });
    const l1 = new sfn.CfnStateMachine(stack, 'L1', { roleArn: role.roleArn, definitionString: '{}' });
    inStackChild(stack, 'Unrelated', { role: other });
    inStackChild(stack, 'DefaultRole');

    const users = findRoleUsers(role);

    expect(users.map((u) => u.resource.node.path)).toEqual(['Stack/L2/Resource', 'Stack/L1']);
    expect(users[0].stateMachine).toBe(l2);
    expect(users[1].stateMachine).toBeUndefined();
    expect(users[1].resource).toBe(l1);
  });

  test('matches a roleArn built from the same attribute in another token', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    const cfnRole = role.node.defaultChild as iam.CfnRole;
    new sfn.CfnStateMachine(stack, 'L1', { roleArn: cfnRole.attrArn, definitionString: '{}' });

    expect(findRoleUsers(role).map((u) => u.resource.node.path)).toEqual(['Stack/L1']);
  });
});
