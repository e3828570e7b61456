import { CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole } from '../lib';
import {
  ACCOUNT,
  eventsStatement,
  importedChild,
  inStackChild,
  newStack,
  OTHER_ACCOUNT,
  OTHER_REGION,
  policyDocuments,
  REGION,
  stateMachineArn,
} from './util/fixtures';

const { RUN_JOB, REQUEST_RESPONSE, WAIT_FOR_TASK_TOKEN } = sfn.IntegrationPattern;

function splitPart(index: number, arn: any) {
  return { 'Fn::Select': [index, { 'Fn::Split': [':', arn] }] };
}

/** The execution ARN pattern CloudFormation builds from a token ARN. */
function tokenExecutionArn(arn: any) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        splitPart(1, arn),
        ':states:',
        splitPart(3, arn),
        ':',
        splitPart(4, arn),
        ':execution:',
        splitPart(6, arn),
        ':*',
      ],
    ],
  };
}

function tokenStateMachineArn(arn: any) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        splitPart(1, arn),
        ':states:',
        splitPart(3, arn),
        ':',
        splitPart(4, arn),
        ':stateMachine:',
        splitPart(6, arn),
      ],
    ],
  };
}

function statements(stack: Stack): any[] {
  const documents = Object.values(policyDocuments(Template.fromStack(stack)));
  expect(documents).toHaveLength(1);
  return documents[0].Statement;
}

describe('grants per integration pattern', () => {
  test('REQUEST_RESPONSE grants only StartExecution on the child', () => {
    // GIVEN
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Child'));
    // WHEN
    new NestedWorkflowRole(stack, 'ParentRole', { child });
    // THEN
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') },
    ]);
  });

  test('WAIT_FOR_TASK_TOKEN grants only StartExecution on the child', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Child'));
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: WAIT_FOR_TASK_TOKEN });
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') },
    ]);
  });

  test('RUN_JOB grants Start on the child, Describe/Stop on its own executions and events on the managed rule', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Child'));
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:*`,
      },
      eventsStatement(),
    ]);
  });

  test('a child defined in the stack is granted by reference, its executions by its own name', () => {
    const stack = newStack();
    const child = inStackChild(stack, 'Child');
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    const logicalId = Stack.of(child).resolve((child.node.defaultChild as sfn.CfnStateMachine).logicalId);
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: logicalId } },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            // The partition of a known region is written out (same ARN once deployed).
            [`arn:aws:states:${REGION}:${ACCOUNT}:execution:`, { 'Fn::GetAtt': [logicalId, 'Name'] }, ':*'],
          ],
        },
      },
      eventsStatement(),
    ]);
  });

  test('a child defined in the stack with a name is granted on that name', () => {
    const stack = newStack();
    const child = inStackChild(stack, 'Child', { stateMachineName: 'NightlyJob' });
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    expect(statements(stack)[1].Resource).toEqual(`arn:aws:states:${REGION}:${ACCOUNT}:execution:NightlyJob:*`);
  });

  test('the default pattern of addChild is REQUEST_RESPONSE', () => {
    const stack = newStack();
    const role = new NestedWorkflowRole(stack, 'ParentRole');
    role.addChild(importedChild(stack, 'Child', stateMachineArn('Child')));
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') },
    ]);
  });
});

describe('kinds of child', () => {
  test.each([
    ['alias', 'PROD'],
    ['version', '3'],
  ])('a child addressed by %s ARN is started on the unqualified ARN, only with that qualifier', (_kind, qualifier) => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', `${stateMachineArn('Child')}:${qualifier}`);
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    expect(statements(stack)).toEqual([
      {
        Action: 'states:StartExecution',
        Condition: { 'ForAnyValue:StringEquals': { 'states:StateMachineQualifier': [qualifier] } },
        Effect: 'Allow',
        Resource: stateMachineArn('Child'),
      },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:*`,
      },
      eventsStatement(),
    ]);
  });

  test('a child ARN from a CfnParameter is split with Fn::Split/Fn::Select, never taken from the stack', () => {
    const stack = newStack();
    const parameter = new CfnParameter(stack, 'ChildArn');
    const child = importedChild(stack, 'Child', parameter.valueAsString);
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    const ref = { Ref: 'ChildArn' };
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: tokenStateMachineArn(ref) },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: tokenExecutionArn(ref),
      },
      eventsStatement(),
    ]);
  });

  test('a child ARN from Fn::ImportValue is split at deploy time', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', Fn.importValue('ChildArnExport'));
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    const imported = { 'Fn::ImportValue': 'ChildArnExport' };
    expect(statements(stack)[1]).toEqual({
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Effect: 'Allow',
      Resource: tokenExecutionArn(imported),
    });
  });

  test('a child imported by name in an environment-agnostic stack keeps the name and the pseudo parameters', () => {
    const stack = newStack({ agnostic: true });
    const child = sfn.StateMachine.fromStateMachineName(stack, 'Child', 'Child');
    new NestedWorkflowRole(stack, 'ParentRole', { child, integrationPattern: RUN_JOB });
    const arn = (type: string, suffix: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':states:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:${type}:Child${suffix}`,
        ],
      ],
    });
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: arn('stateMachine', '') },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: arn('execution', ':*'),
      },
      {
        Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':events:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
            ],
          ],
        },
      },
    ]);
  });

  test('a child in another partition keeps its own partition in every ARN', () => {
    const stack = newStack({ props: { env: { account: ACCOUNT, region: 'cn-north-1' } } });
    const arn = stateMachineArn('Child', { partition: 'aws-cn', region: 'cn-north-1' });
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', arn),
      integrationPattern: RUN_JOB,
    });
    const [start, executions] = statements(stack);
    expect(start.Resource).toEqual(arn);
    expect(executions.Resource).toEqual(`arn:aws-cn:states:cn-north-1:${ACCOUNT}:execution:Child:*`);
  });
});

describe('many children', () => {
  test('children share one statement per kind of grant, in the order they were added', () => {
    const stack = newStack();
    const role = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'A', stateMachineArn('A')),
      integrationPattern: RUN_JOB,
    });
    role.addChild(importedChild(stack, 'B', stateMachineArn('B')), { integrationPattern: RUN_JOB });
    role.addChild(importedChild(stack, 'C', stateMachineArn('C')));
    role.addChild(importedChild(stack, 'D', stateMachineArn('D')), { integrationPattern: WAIT_FOR_TASK_TOKEN });
    expect(statements(stack)).toEqual([
      {
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: ['A', 'B', 'C', 'D'].map((n) => stateMachineArn(n)),
      },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: ['A', 'B'].map((n) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${n}:*`),
      },
      eventsStatement(),
    ]);
  });

  test('a child added twice is granted once, with the union of its patterns', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Child'));
    const role = new NestedWorkflowRole(stack, 'ParentRole', { child });
    role.addChild(child, { integrationPattern: RUN_JOB });
    role.addChild(importedChild(stack, 'Again', stateMachineArn('Child')), { integrationPattern: REQUEST_RESPONSE });
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:*`,
      },
      eventsStatement(),
    ]);
  });

  test('aliases of different children are never granted across children', () => {
    const stack = newStack();
    const role = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'A', `${stateMachineArn('A')}:PROD`),
    });
    role.addChild(importedChild(stack, 'B', `${stateMachineArn('B')}:DEV`));
    role.addChild(importedChild(stack, 'A2', `${stateMachineArn('A')}:BETA`));
    role.addChild(importedChild(stack, 'C', `${stateMachineArn('C')}:DEV`));
    const qualified = (resource: string | string[], qualifiers: string[]) => ({
      Action: 'states:StartExecution',
      Condition: { 'ForAnyValue:StringEquals': { 'states:StateMachineQualifier': qualifiers } },
      Effect: 'Allow',
      Resource: resource,
    });
    expect(statements(stack)).toEqual([
      qualified(stateMachineArn('A'), ['BETA', 'PROD']),
      qualified([stateMachineArn('B'), stateMachineArn('C')], ['DEV']),
    ]);
  });

  test('the unqualified ARN of a child supersedes its aliases', () => {
    const stack = newStack();
    const role = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Alias', `${stateMachineArn('Child')}:PROD`),
    });
    role.addChild(importedChild(stack, 'Child', stateMachineArn('Child')));
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') },
    ]);
  });
});

describe('the role', () => {
  test('trusts only states.amazonaws.com from state machines of its own account and region', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', { child: importedChild(stack, 'Child', stateMachineArn('Child')) });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'states.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': ACCOUNT },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:states:${REGION}:${ACCOUNT}:stateMachine:*`]],
                },
              },
            },
          },
        ],
      },
    });
  });

  test('trusts only the named parent when parentStateMachineName is given', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
      parentStateMachineName: 'Parent',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Condition: {
              StringEquals: { 'aws:SourceAccount': ACCOUNT },
              // The parent, its versions and its aliases.
              ArnLike: {
                'aws:SourceArn': [
                  {
                    'Fn::Join': [
                      '',
                      ['arn:', { Ref: 'AWS::Partition' }, `:states:${REGION}:${ACCOUNT}:stateMachine:Parent`],
                    ],
                  },
                  {
                    'Fn::Join': [
                      '',
                      ['arn:', { Ref: 'AWS::Partition' }, `:states:${REGION}:${ACCOUNT}:stateMachine:Parent:*`],
                    ],
                  },
                ],
              },
            },
          }),
        ],
      },
    });
  });

  test('passes roleName, path, description and permissionsBoundary to the role', () => {
    const stack = newStack();
    const boundary = iam.ManagedPolicy.fromManagedPolicyName(stack, 'Boundary', 'Boundary');
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
      roleName: 'parent-role',
      path: '/workflows/',
      description: 'Parent of the nightly jobs',
      permissionsBoundary: boundary,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'parent-role',
      Path: '/workflows/',
      Description: 'Parent of the nightly jobs',
      PermissionsBoundary: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:policy/Boundary`]],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('the inner role has the construct id Resource and is the grant principal', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
    });
    expect(parentRole.role.node.id).toBe('Resource');
    expect(parentRole.grantPrincipal).toBe(parentRole.role);
  });

  test('the parent state machine depends on every policy of the role when given the role', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    for (let i = 0; i < 300; i++) {
      parentRole.addChild(importedChild(stack, `Child${i}`, stateMachineArn(`Child${i}`)), {
        integrationPattern: RUN_JOB,
      });
    }
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Start')),
    });
    const template = Template.fromStack(stack);
    const policies = Object.keys(policyDocuments(template));
    expect(policies.length).toBeGreaterThan(1);
    const parent = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    expect(parent.DependsOn).toEqual(expect.arrayContaining(policies));
  });

  test('grants are never on "*" and never use wildcard actions', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: inStackChild(stack, 'Child'),
      integrationPattern: RUN_JOB,
    });
    parentRole.addChild(importedChild(stack, 'Alias', `${stateMachineArn('Other')}:PROD`), {
      integrationPattern: RUN_JOB,
    });
    const text = JSON.stringify(policyDocuments(Template.fromStack(stack)));
    expect(text).not.toMatch(/"Resource":"\*"/);
    expect(text).not.toMatch(/"Action":\[?[^\]]*\*/);
    Template.fromStack(stack).resourceCountIs('AWS::IAM::ManagedPolicy', 0);
  });
});

describe('bad input is refused at synthesis, with the fix', () => {
  test.each([
    ['an activity', `arn:aws:states:${REGION}:${ACCOUNT}:activity:Worker`, /resource type "stateMachine"/],
    ['an execution', `arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:run-1`, /resource type "stateMachine"/],
    ['a Lambda function', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Fn`, /service "states"/],
    ['a malformed ARN', 'not-an-arn', /must be a state machine ARN/],
    ['a wildcard name', stateMachineArn('Child*'), /check: name/],
    ['a bad account', stateMachineArn('Child', { account: '1234' }), /12-digit account/],
    ['too many parts', `${stateMachineArn('Child')}:PROD:extra`, /no more than 8/],
    [
      "a partition that is not its region's",
      stateMachineArn('Child', { partition: 'aws-cn' }),
      /partition of region us-east-1 \(aws\)/,
    ],
    ['a token with too few parts', `${Fn.importValue('Name')}:stateMachine`, /must be a state machine ARN/],
  ])('%s as child', (_what, arn, message) => {
    const stack = newStack();
    const child = {
      ...importedChild(stack, 'Child', stateMachineArn('Placeholder')),
      stateMachineArn: arn,
    } as sfn.IStateMachine;
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child })).toThrow(message);
    expect(() => new NestedWorkflowRole(stack, 'ParentRole2', { child })).toThrow(
      /ParentRole2: `child` must be a state machine ARN \(arn:<partition>:states:<region>:<account>:stateMachine:<name>\[:<alias or version>\]\), got: /,
    );
    // Nothing half-made: no role was created.
    Template.fromStack(stack).resourceCountIs('AWS::IAM::Role', 0);
  });

  test('a child in another region than the parent', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Child', { region: OTHER_REGION }));
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child })).toThrow(
      `Stack/ParentRole: \`child\` ${stateMachineArn('Child', { region: OTHER_REGION })} is in region ${OTHER_REGION}, but the parent's stack is in region ${REGION}.`,
    );
  });

  test('a child in another account than the parent names the missing cross-account support', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
    });
    const other = importedChild(stack, 'Other', stateMachineArn('Other', { account: OTHER_ACCOUNT }));
    expect(() => parentRole.addChild(other, { integrationPattern: RUN_JOB })).toThrow(
      /is in account 222222222222, but the parent's stack is in account 111111111111\. Starting a child in another account needs a role in that account for the parent to assume: create a NestedWorkflowTargetRole in the child's account and pass `credentials/,
    );
    // The refused child left no grant behind.
    expect(statements(stack)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') },
    ]);
  });

  test('a child in another stack of another region is refused by its environment', () => {
    const stack = newStack();
    const childStack = new Stack(stack.node.scope as any, 'ChildStack', {
      env: { account: ACCOUNT, region: OTHER_REGION },
    });
    const child = inStackChild(childStack, 'Child');
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child })).toThrow(/is in region eu-west-1/);
  });

  test('checks that need a resolved value are skipped for tokens', () => {
    const stack = newStack({ agnostic: true });
    const child = importedChild(
      stack,
      'Child',
      stateMachineArn('Child', { region: OTHER_REGION, account: OTHER_ACCOUNT }),
    );
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child })).not.toThrow();
  });

  test('a role with no child at all fails synthesis', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole');
    expect(() => Template.fromStack(stack)).toThrow(
      /NestedWorkflowRole has no child state machine: pass `child` in its props or call `addChild\(child\)` before synthesis/,
    );
  });

  test('an integrationPattern without a child', () => {
    const stack = newStack();
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { integrationPattern: RUN_JOB })).toThrow(
      /`integrationPattern` applies to `child`, but no `child` was given/,
    );
  });

  test.each([
    [
      'arn:aws:states:us-east-1:111111111111:stateMachine:Parent',
      'which holds U+003A (:), which Step Functions forbids',
    ],
    ['bad name', 'which holds U+0020, white space, which Step Functions forbids'],
    ['', 'which is empty'],
    ['Parent*', 'which holds U+002A (*), which Step Functions forbids'],
    ['Parent\u0000', 'which holds U+0000, a control character'],
    ['Elterngeschäftsprozeß-日本', 'which holds U+65E5 (日), which no IAM policy can hold'],
    ['x'.repeat(81), 'which has 81 characters, more than 80'],
  ])('a parentStateMachineName that is not a name: %j', (name, problem) => {
    const stack = newStack();
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          child: importedChild(stack, 'Child', stateMachineArn('Child')),
          parentStateMachineName: name,
        }),
    ).toThrow(
      `\`parentStateMachineName\` must be a state machine name (1-80 characters from U+0021-U+007E and U+00A1-U+00FF, none of < > { } [ ] ? * " # % \\ ^ | ~ \` $ & , ; : /), got: ${name.replace('\u0000', '\\u0000')}, ${problem}`,
    );
  });

  test.each([-1, 21, 1.5])('maxManagedPolicies of %s', (max) => {
    const stack = newStack();
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { maxManagedPolicies: max })).toThrow(
      `\`maxManagedPolicies\` must be an integer from 0 to 20 (IAM's quota per role), got: ${max}`,
    );
  });
});
