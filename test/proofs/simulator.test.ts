import { resolveTemplate, resolveValue, type ResolveEnv } from '../util/resolve';
import { findRoleLogicalIds, rolePolicies, simulate, simulateTrust, type RolePolicies } from '../util/simulator';

const ENV: ResolveEnv = { partition: 'aws', region: 'us-east-1', account: '111111111111' };
const SM_PREFIX = 'arn:aws:states:us-east-1:111111111111';

function document(...statements: any[]): any {
  return { Version: '2012-10-17', Statement: statements };
}

function identityOnly(...statements: any[]): RolePolicies {
  return { identityPolicies: [document(...statements)], trustPolicy: undefined, policyResourceCount: 0 };
}

const STATES_TRUST = document({
  Effect: 'Allow',
  Principal: { Service: 'states.amazonaws.com' },
  Action: 'sts:AssumeRole',
});

describe('resolveTemplate', () => {
  const template = {
    Parameters: {
      ChildArn: { Type: 'String', Default: `${SM_PREFIX}:stateMachine:Default` },
      NoDefault: { Type: 'String' },
      Stages: { Type: 'CommaDelimitedList', Default: 'DEV,PROD' },
      BootstrapVersion: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/cdk-bootstrap/hnb659fds/version' },
    },
    Conditions: {
      IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'PROD'] },
    },
    Rules: {
      CheckBootstrapVersion: {
        Assertions: [{ Assert: { 'Fn::Not': [{ 'Fn::Contains': [['1'], { Ref: 'BootstrapVersion' }] }] } }],
      },
    },
    Resources: {
      PathRole: {
        Type: 'AWS::IAM::Role',
        Properties: { RoleName: 'Worker', Path: '/service/team/', AssumeRolePolicyDocument: STATES_TRUST },
      },
      PlainRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: STATES_TRUST } },
      Child: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: 'ChildFlow' } },
      Boundary: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: { Path: '/boundaries/', PolicyDocument: document() },
      },
      Key: { Type: 'AWS::KMS::Key', Properties: {} },
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    },
  };

  test('GIVEN a parameter ARN WHEN Join/Select/Split nest THEN they resolve from the inside out', () => {
    // GIVEN: the state machine name and region taken apart from the ARN, then joined into an execution ARN
    const arnParts = { 'Fn::Split': [':', { Ref: 'ChildArn' }] };
    const value = {
      'Fn::Join': [
        ':',
        [
          'arn',
          { Ref: 'AWS::Partition' },
          'states',
          { 'Fn::Select': [3, arnParts] },
          { Ref: 'AWS::AccountId' },
          'execution',
          { 'Fn::Select': [6, arnParts] },
          '*',
        ],
      ],
    };

    // WHEN
    const fromDefault = resolveValue(value, template, ENV);
    const fromEnv = resolveValue(value, template, {
      ...ENV,
      parameters: { ChildArn: 'arn:aws:states:eu-west-1:111111111111:stateMachine:Given' },
    });

    // THEN
    expect(fromDefault).toBe(`${SM_PREFIX}:execution:Default:*`);
    expect(fromEnv).toBe('arn:aws:states:eu-west-1:111111111111:execution:Given:*');
  });

  test('GIVEN a CommaDelimitedList parameter WHEN it is selected from THEN the list is split', () => {
    expect(resolveValue({ 'Fn::Select': [1, { Ref: 'Stages' }] }, template, ENV)).toBe('PROD');
  });

  test('GIVEN roles with and without a Path WHEN their Arn is read THEN the path sits between role and name', () => {
    expect(resolveValue({ 'Fn::GetAtt': ['PathRole', 'Arn'] }, template, ENV)).toBe(
      'arn:aws:iam::111111111111:role/service/team/Worker',
    );
    expect(resolveValue({ 'Fn::GetAtt': 'PlainRole.Arn' }, template, ENV)).toBe(
      'arn:aws:iam::111111111111:role/PlainRole',
    );
    expect(resolveValue({ Ref: 'PathRole' }, template, ENV)).toBe('Worker');
  });

  test('GIVEN resources WHEN referenced THEN Ref and GetAtt give CloudFormation-like values', () => {
    expect(resolveValue({ Ref: 'Child' }, template, ENV)).toBe(`${SM_PREFIX}:stateMachine:ChildFlow`);
    expect(resolveValue({ 'Fn::GetAtt': ['Child', 'Name'] }, template, ENV)).toBe('ChildFlow');
    expect(resolveValue({ Ref: 'Boundary' }, template, ENV)).toBe(
      'arn:aws:iam::111111111111:policy/boundaries/Boundary',
    );
    expect(resolveValue({ 'Fn::GetAtt': ['Key', 'Arn'] }, template, ENV)).toBe(
      'arn:aws:kms:us-east-1:111111111111:key/Key',
    );
    expect(resolveValue({ Ref: 'AWS::URLSuffix' }, template, ENV)).toBe('amazonaws.com');
  });

  test('GIVEN Fn::Sub in both forms WHEN resolved THEN pseudo parameters, attributes and variables are substituted', () => {
    expect(resolveValue({ 'Fn::Sub': '${PathRole.Arn}|${AWS::Region}|${Child}|${!Literal}' }, template, ENV)).toBe(
      `arn:aws:iam::111111111111:role/service/team/Worker|us-east-1|${SM_PREFIX}:stateMachine:ChildFlow|\${Literal}`,
    );
    expect(
      resolveValue(
        {
          'Fn::Sub': [
            'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*',
            { Name: { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'Child' }] }] } },
          ],
        },
        template,
        ENV,
      ),
    ).toBe(`${SM_PREFIX}:execution:ChildFlow:*`);
  });

  test('GIVEN Fn::ImportValue WHEN the export is provided THEN its value is used, else it throws', () => {
    const value = { 'Fn::ImportValue': { 'Fn::Sub': '${AWS::Region}-ChildArn' } };
    expect(resolveValue(value, template, { ...ENV, imports: { 'us-east-1-ChildArn': 'imported' } })).toBe('imported');
    expect(() => resolveValue(value, template, ENV)).toThrow(/Fn::ImportValue 'us-east-1-ChildArn'/);
  });

  test('GIVEN Fn::If WHEN the condition depends on a parameter THEN the matching branch is kept', () => {
    const withStage = {
      ...template,
      Parameters: { ...template.Parameters, Stage: { Type: 'String', Default: 'DEV' } },
    };
    const value = {
      Resource: { 'Fn::If': ['IsProd', 'prod', 'dev'] },
      Extra: { 'Fn::If': ['IsProd', 'x', { Ref: 'AWS::NoValue' }] },
    };
    expect(resolveValue(value, withStage, ENV)).toEqual({ Resource: 'dev' });
    expect(resolveValue(value, withStage, { ...ENV, parameters: { Stage: 'PROD' } })).toEqual({
      Resource: 'prod',
      Extra: 'x',
    });
  });

  test.each([
    ['an unsupported attribute', { 'Fn::GetAtt': ['Fn', 'Arn'] }, /unsupported Fn::GetAtt 'Arn' of 'Fn'/],
    ['an unsupported function', { 'Fn::GetAZs': '' }, /unsupported intrinsic function 'Fn::GetAZs'/],
    ['a parameter without value', { Ref: 'NoDefault' }, /parameter 'NoDefault' has no value/],
    ['an unknown logical id', { Ref: 'Missing' }, /neither a parameter nor a resource/],
    ['an unsupported pseudo parameter', { 'Fn::Sub': '${AWS::StackName}' }, /unsupported pseudo parameter/],
    ['an out-of-range Select', { 'Fn::Select': [9, ['a']] }, /out of range/],
  ])('GIVEN %s WHEN resolved THEN it throws instead of leaving the intrinsic in place', (_name, value, error) => {
    expect(() => resolveValue({ Policy: [value] }, template, ENV)).toThrow(error);
  });

  test('GIVEN a whole template WHEN resolved THEN Resources are resolved, declarations copied, and the input is untouched', () => {
    // GIVEN
    const input = {
      ...template,
      Resources: {
        ...template.Resources,
        Policy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyDocument: document({ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'Child' } }),
            Roles: [{ Ref: 'PlainRole' }],
          },
        },
      },
    };
    const before = JSON.stringify(input);

    // WHEN
    const resolved = resolveTemplate(input, ENV);

    // THEN
    expect(resolved.Resources.Policy.Properties).toEqual({
      PolicyDocument: document({
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: `${SM_PREFIX}:stateMachine:ChildFlow`,
      }),
      Roles: ['PlainRole'],
    });
    expect(resolved.Rules).toEqual(template.Rules);
    expect(JSON.stringify(input)).toBe(before);
    expect(JSON.stringify(resolved.Resources)).not.toMatch(/"(Ref|Fn::[A-Za-z]+)"/);
  });
});

describe('rolePolicies', () => {
  const allow = (resource: any) => document({ Effect: 'Allow', Action: 'states:StartExecution', Resource: resource });
  const template = {
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: STATES_TRUST,
          Policies: [{ PolicyName: 'inline', PolicyDocument: allow('inline') }],
          ManagedPolicyArns: [{ Ref: 'ListedManaged' }],
          PermissionsBoundary: { Ref: 'Boundary' },
        },
      },
      OtherRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: STATES_TRUST } },
      Policy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'p',
          PolicyDocument: allow({ 'Fn::Sub': '${AWS::Region}' }),
          Roles: [{ Ref: 'Role' }],
        },
      },
      OtherPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: { PolicyName: 'o', PolicyDocument: allow('other'), Roles: [{ Ref: 'OtherRole' }] },
      },
      AttachedManaged: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: { PolicyDocument: allow('attached'), Roles: [{ Ref: 'Role' }] },
      },
      ListedManaged: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: allow('listed') } },
      Boundary: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: allow('boundary') } },
    },
  };

  test('GIVEN a template with two roles WHEN roles are listed THEN both logical ids are returned in order', () => {
    expect(findRoleLogicalIds(template)).toEqual(['Role', 'OtherRole']);
  });

  test('GIVEN inline, Policy and ManagedPolicy attachments WHEN collected THEN every document of the role is resolved and counted', () => {
    // WHEN
    const policies = rolePolicies(template, 'Role', ENV);

    // THEN
    const resources = policies.identityPolicies.map((policy) => policy.Statement[0].Resource);
    expect(resources.sort()).toEqual(['attached', 'inline', 'listed', 'us-east-1']);
    expect(policies.policyResourceCount).toBe(3);
    expect(policies.trustPolicy).toEqual(STATES_TRUST);
    expect(policies.permissionsBoundary).toEqual(allow('boundary'));
    expect(policies.roleArn).toBe('arn:aws:iam::111111111111:role/Role');
  });

  test('GIVEN a role without boundary WHEN collected THEN only its own policy is found', () => {
    const policies = rolePolicies(template, 'OtherRole', ENV);
    expect(policies.identityPolicies).toEqual([allow('other')]);
    expect(policies.policyResourceCount).toBe(1);
    expect(policies.permissionsBoundary).toBeUndefined();
  });

  test('GIVEN a managed policy ARN from outside the template WHEN collected THEN it throws', () => {
    const external = JSON.parse(JSON.stringify(template));
    external.Resources.Role.Properties.ManagedPolicyArns.push('arn:aws:iam::aws:policy/AdministratorAccess');
    expect(() => rolePolicies(external, 'Role', ENV)).toThrow(/not defined in the template/);
  });

  test('GIVEN a logical id that is not a role WHEN collected THEN it throws', () => {
    expect(() => rolePolicies(template, 'Policy', ENV)).toThrow(/not an AWS::IAM::Role/);
  });
});

describe('simulate', () => {
  const describeChildExecutions = identityOnly({
    Effect: 'Allow',
    Action: 'states:DescribeExecution',
    Resource: `${SM_PREFIX}:execution:Child:*`,
  });

  test('GIVEN executions of Child are allowed WHEN describing a Child execution THEN it is allowed', async () => {
    const decision = await simulate(
      describeChildExecutions,
      { action: 'states:DescribeExecution', resource: `${SM_PREFIX}:execution:Child:run1` },
      ENV,
    );
    expect(decision).toBe('Allowed');
  });

  test('GIVEN executions of Child are allowed WHEN describing an execution of ChildAdmin THEN it is denied', async () => {
    const decision = await simulate(
      describeChildExecutions,
      { action: 'states:DescribeExecution', resource: `${SM_PREFIX}:execution:ChildAdmin:run1` },
      ENV,
    );
    expect(decision).toBe('ImplicitlyDenied');
  });

  test('GIVEN an explicit Deny WHEN it matches THEN the decision is ExplicitlyDenied', async () => {
    const policies = identityOnly(
      { Effect: 'Allow', Action: 'states:*', Resource: '*' },
      { Effect: 'Deny', Action: 'states:StopExecution', Resource: '*' },
    );
    const decision = await simulate(
      policies,
      { action: 'states:StopExecution', resource: `${SM_PREFIX}:execution:Child:run1` },
      ENV,
    );
    expect(decision).toBe('ExplicitlyDenied');
  });

  test.each([
    [
      'an unknown action',
      { action: 'states:StartExecutions', resource: `${SM_PREFIX}:stateMachine:Child` },
      /invalid\.action/,
    ],
    ['an unknown service', { action: 'stepfunctions:StartExecution', resource: '*' }, /invalid\.service/],
    [
      'a resource of the wrong type',
      { action: 'states:DescribeExecution', resource: `${SM_PREFIX}:stateMachine:Child` },
      /no\.resource\.types/,
    ],
    [
      'a resource pattern',
      { action: 'states:DescribeExecution', resource: `${SM_PREFIX}:execution:Child:*` },
      /concrete resource/,
    ],
    [
      'a context key that does not apply to the action',
      {
        action: 'states:DescribeExecution',
        resource: `${SM_PREFIX}:execution:Child:run1`,
        context: { 'states:StateMachineQualifier': 'PROD' },
      },
      /ignored context key\(s\) states:StateMachineQualifier/,
    ],
    [
      'an unknown context key',
      {
        action: 'states:DescribeExecution',
        resource: `${SM_PREFIX}:execution:Child:run1`,
        context: { 'states:Nope': 'x' },
      },
      /unknown context key states:Nope/,
    ],
    [
      'several values for a single-valued key',
      {
        action: 'states:DescribeExecution',
        resource: `${SM_PREFIX}:execution:Child:run1`,
        context: { 'aws:SourceAccount': ['111111111111', '222222222222'] },
      },
      /single-valued/,
    ],
  ])('GIVEN %s in the request WHEN simulated THEN it throws', async (_name, probe, error) => {
    await expect(simulate(describeChildExecutions, probe, ENV)).rejects.toThrow(error);
  });

  test('GIVEN a policy with a misspelled action WHEN simulated THEN it throws instead of denying', async () => {
    const policies = identityOnly({ Effect: 'Allow', Action: 'states:DescribeExecutions', Resource: '*' });
    await expect(
      simulate(policies, { action: 'states:DescribeExecution', resource: `${SM_PREFIX}:execution:Child:run1` }, ENV),
    ).rejects.toThrow(/unknown to iam-simulate: states:DescribeExecutions/);
  });

  test('GIVEN a policy with invalid syntax WHEN simulated THEN it throws with the validation message', async () => {
    const policies = identityOnly({ Effect: 'Permit', Action: 'states:DescribeExecution', Resource: '*' });
    await expect(
      simulate(policies, { action: 'states:DescribeExecution', resource: `${SM_PREFIX}:execution:Child:run1` }, ENV),
    ).rejects.toThrow(/policy\.errors[\s\S]*Effect must be present/);
  });

  describe('GIVEN StartExecution is allowed only for ForAnyValue:StringEquals states:StateMachineQualifier = PROD', () => {
    const policies = identityOnly({
      Effect: 'Allow',
      Action: 'states:StartExecution',
      Resource: [`${SM_PREFIX}:stateMachine:Child`, `${SM_PREFIX}:stateMachine:Child:*`],
      Condition: { 'ForAnyValue:StringEquals': { 'states:StateMachineQualifier': 'PROD' } },
    });

    test.each([
      ['qualifier PROD as a string', ':PROD', { 'states:StateMachineQualifier': 'PROD' }, 'Allowed'],
      ['qualifier PROD as a list', ':PROD', { 'states:StateMachineQualifier': ['PROD'] }, 'Allowed'],
      ['qualifier DEV', ':DEV', { 'states:StateMachineQualifier': 'DEV' }, 'ImplicitlyDenied'],
      ['no qualifier key', '', undefined, 'ImplicitlyDenied'],
    ])('WHEN starting with %s THEN the decision is as expected', async (_name, suffix, context, expected) => {
      const decision = await simulate(
        policies,
        { action: 'states:StartExecution', resource: `${SM_PREFIX}:stateMachine:Child${suffix}`, context },
        ENV,
      );
      expect(decision).toBe(expected);
    });
  });

  test('GIVEN a managed-policy permissions boundary WHEN identity policies allow more THEN the boundary limits the result', async () => {
    // GIVEN: identity allows StartExecution and DescribeExecution; the boundary only DescribeExecution
    const template = {
      Resources: {
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: STATES_TRUST,
            PermissionsBoundary: { Ref: 'Boundary' },
            Policies: [
              {
                PolicyName: 'all',
                PolicyDocument: document({
                  Effect: 'Allow',
                  Action: ['states:StartExecution', 'states:DescribeExecution'],
                  Resource: '*',
                }),
              },
            ],
          },
        },
        Boundary: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: {
            PolicyDocument: document({ Effect: 'Allow', Action: 'states:DescribeExecution', Resource: '*' }),
          },
        },
      },
    };
    const policies = rolePolicies(template, 'Role', ENV);
    const start = { action: 'states:StartExecution', resource: `${SM_PREFIX}:stateMachine:Child` };
    const describeRun = { action: 'states:DescribeExecution', resource: `${SM_PREFIX}:execution:Child:run1` };

    // WHEN / THEN
    expect(await simulate(policies, start, ENV)).toBe('ImplicitlyDenied');
    expect(await simulate(policies, describeRun, ENV)).toBe('Allowed');
    expect(await simulate({ ...policies, permissionsBoundary: undefined }, start, ENV)).toBe('Allowed');
  });

  test('GIVEN a KMS grant conditioned on the encryption context WHEN the context key is passed THEN it is evaluated', async () => {
    const policies = identityOnly({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: 'arn:aws:kms:us-east-1:111111111111:key/k',
      Condition: {
        StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': `${SM_PREFIX}:stateMachine:Child` },
      },
    });
    const decrypt = (stateMachineArn?: string) =>
      simulate(
        policies,
        {
          action: 'kms:Decrypt',
          resource: 'arn:aws:kms:us-east-1:111111111111:key/k',
          context: stateMachineArn ? { 'kms:EncryptionContext:aws:states:stateMachineArn': stateMachineArn } : {},
        },
        ENV,
      );

    expect(await decrypt(`${SM_PREFIX}:stateMachine:Child`)).toBe('Allowed');
    expect(await decrypt(`${SM_PREFIX}:stateMachine:Other`)).toBe('ImplicitlyDenied');
    expect(await decrypt()).toBe('ImplicitlyDenied');
  });

  test('GIVEN a grant on a role of another account WHEN simulated THEN the identity policy alone decides', async () => {
    const policies = identityOnly({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: 'arn:aws:iam::222222222222:role/Target',
    });
    const assume = (resource: string) => simulate(policies, { action: 'sts:AssumeRole', resource }, ENV);
    expect(await assume('arn:aws:iam::222222222222:role/Target')).toBe('Allowed');
    expect(await assume('arn:aws:iam::222222222222:role/Other')).toBe('ImplicitlyDenied');
  });
});

describe('simulateTrust', () => {
  const roleArn = 'arn:aws:iam::111111111111:role/Role';

  test('GIVEN a trust policy with an aws:SourceAccount condition WHEN states assumes the role THEN only that account is allowed', async () => {
    // GIVEN
    const policies: RolePolicies = {
      identityPolicies: [],
      policyResourceCount: 0,
      trustPolicy: document({
        Effect: 'Allow',
        Principal: { Service: 'states.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } },
      }),
    };
    const assume = (context: { [key: string]: string }, servicePrincipal = 'states.amazonaws.com') =>
      simulateTrust(policies, roleArn, { servicePrincipal, context });

    // WHEN / THEN
    expect(await assume({ 'aws:SourceAccount': '111111111111' })).toBe('Allowed');
    expect(await assume({ 'aws:SourceAccount': '999999999999' })).toBe('ImplicitlyDenied');
    expect(await assume({})).toBe('ImplicitlyDenied');
    expect(await assume({ 'aws:SourceAccount': '111111111111' }, 'lambda.amazonaws.com')).toBe('ImplicitlyDenied');
  });

  test('GIVEN a trust policy for a role of another account with an ExternalId WHEN that role assumes THEN the ExternalId must match', async () => {
    // GIVEN
    const parent = 'arn:aws:iam::222222222222:role/Parent';
    const policies: RolePolicies = {
      identityPolicies: [],
      policyResourceCount: 0,
      trustPolicy: document({
        Effect: 'Allow',
        Principal: { AWS: parent },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': 'secret' } },
      }),
    };

    // WHEN / THEN
    const assume = (principalArn: string, externalId: string) =>
      simulateTrust(policies, roleArn, { principalArn, context: { 'sts:ExternalId': externalId } });
    expect(await assume(parent, 'secret')).toBe('Allowed');
    expect(await assume(parent, 'guess')).toBe('ImplicitlyDenied');
    expect(await assume('arn:aws:iam::222222222222:role/Other', 'secret')).toBe('ImplicitlyDenied');
  });

  test('GIVEN a trust probe without or with both principals WHEN simulated THEN it throws', async () => {
    const policies: RolePolicies = { identityPolicies: [], policyResourceCount: 0, trustPolicy: STATES_TRUST };
    await expect(simulateTrust(policies, roleArn, {})).rejects.toThrow(/exactly one/);
    await expect(
      simulateTrust(policies, roleArn, { servicePrincipal: 'states.amazonaws.com', principalArn: roleArn }),
    ).rejects.toThrow(/exactly one/);
  });
});
