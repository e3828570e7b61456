/**
 * Inputs that used to be refused wrongly or accepted wrongly: aliases and versions of a state machine of the app,
 * substitution keys named like members of Object.prototype, names IAM or Step Functions cannot hold.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { NestedWorkflowRole } from '../../lib';
import { ACCOUNT, importedChild, inStackChild, newStack, PARTITION, REGION, stateMachineArn } from '../util/fixtures';
import { Pattern, probesFor } from '../util/probes';
import { failedProbes as simulatedFailures, parentRolePolicies } from '../util/simulator';

const PARENT = { partition: PARTITION, region: REGION, account: ACCOUNT };

// The simulator loads its IAM data on first use, which can take seconds on a busy machine.
jest.setTimeout(30_000);

/** The probes that fail for the parent role of `stack` (empty when every call is Allowed and every near miss Denied). */
async function failedProbes(stack: Stack, name: string, pattern: Pattern, qualifier?: string): Promise<string[]> {
  const policies = parentRolePolicies(Template.fromStack(stack).toJSON(), PARENT);
  return simulatedFailures(policies, probesFor({ ...PARENT, name, pattern, qualifier }, PARENT), PARENT);
}

/** A definition whose one state starts `arn` (after substitution) with `resource`. */
function definitionStarting(arn: string, resource = 'arn:aws:states:::states:startExecution'): sfn.DefinitionBody {
  return sfn.DefinitionBody.fromString(
    JSON.stringify({
      StartAt: 'Start',
      States: { Start: { Type: 'Task', Resource: resource, Parameters: { StateMachineArn: arn }, End: true } },
    }),
  );
}

const RESOURCES: { [pattern in Pattern]: string } = {
  REQUEST_RESPONSE: 'arn:aws:states:::states:startExecution',
  RUN_JOB: 'arn:aws:states:::states:startExecution.sync:2',
  WAIT_FOR_TASK_TOKEN: 'arn:aws:states:::states:startExecution.waitForTaskToken',
};

describe('an alias or version of a state machine of the app is granted like a literal alias ARN', () => {
  const ways: { [way: string]: (stack: Stack, child: sfn.StateMachine, qualifier: string, pattern: Pattern) => void } =
    {
      'fromStateMachineArn(`${child.stateMachineArn}:QUALIFIER`) to addChild': (stack, child, qualifier, pattern) => {
        const alias = sfn.StateMachine.fromStateMachineArn(stack, 'Alias', `${child.stateMachineArn}:${qualifier}`);
        new NestedWorkflowRole(stack, 'ParentRole', {
          child: alias,
          integrationPattern: sfn.IntegrationPattern[pattern],
        });
      },
      'a definition with "${ChildArn}:QUALIFIER"': (stack, child, qualifier, pattern) => {
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: definitionStarting(`\${ChildArn}:${qualifier}`, RESOURCES[pattern]),
          definitionSubstitutions: { ChildArn: child.stateMachineArn },
        });
      },
      'a definition with "${ChildAliasArn}" = `${child.stateMachineArn}:QUALIFIER`': (
        stack,
        child,
        qualifier,
        pattern,
      ) => {
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: definitionStarting('${ChildAliasArn}', RESOURCES[pattern]),
          definitionSubstitutions: { ChildAliasArn: `${child.stateMachineArn}:${qualifier}` },
        });
      },
    };
  const cases = Object.keys(ways).flatMap((way) =>
    (['REQUEST_RESPONSE', 'RUN_JOB', 'WAIT_FOR_TASK_TOKEN'] as Pattern[]).flatMap((pattern) =>
      ['PROD', '7'].map((qualifier) => [way, pattern, qualifier] as const),
    ),
  );

  test.each(cases)('%s, %s, qualifier %s', async (way, pattern, qualifier) => {
    // GIVEN a state machine of the stack
    const stack = newStack();
    const child = inStackChild(stack, 'Child', { stateMachineName: 'Worker' });
    // WHEN the parent starts one of its aliases or versions
    ways[way](stack, child, qualifier, pattern);
    // THEN only that qualifier of that child, its executions if synchronous, nothing else
    expect(await failedProbes(stack, 'Worker', pattern, qualifier)).toEqual([]);
  });

  test('the grant names the child by its own resource, with the qualifier condition', () => {
    // GIVEN an unnamed state machine of the stack (CloudFormation names it)
    const stack = newStack();
    const child = inStackChild(stack, 'Child');
    const logicalId = stack.resolve((child.node.defaultChild as sfn.CfnStateMachine).logicalId);
    // WHEN
    const alias = sfn.StateMachine.fromStateMachineArn(stack, 'Alias', `${child.stateMachineArn}:PROD`);
    new NestedWorkflowRole(stack, 'ParentRole', { child: alias });
    // THEN StartExecution on its unqualified ARN, for PROD only
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'states:StartExecution',
            Condition: { 'ForAnyValue:StringEquals': { 'states:StateMachineQualifier': ['PROD'] } },
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                [`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:`, { 'Fn::GetAtt': [logicalId, 'Name'] }],
              ],
            },
          },
        ],
      },
    });
  });

  test.each([
    [
      'a qualifier with white space',
      (child: sfn.StateMachine) => `${child.stateMachineArn}:PR OD`,
      /U\+0020, white space/,
    ],
    [
      'a qualifier with a control character',
      (child: sfn.StateMachine) => `${child.stateMachineArn}:PROD\u0007`,
      /U\+0007, a control character/,
    ],
    ['two qualifiers', (child: sfn.StateMachine) => `${child.stateMachineArn}:PROD:7`, /must be a state machine ARN/],
    [
      'the name attribute',
      (child: sfn.StateMachine) => `${child.stateMachineName}:PROD`,
      /must be a state machine ARN/,
    ],
  ])('%s is refused, and the message shows no raw token', (_what, arn, message) => {
    const stack = newStack();
    const child = inStackChild(stack, 'Child');
    const alias = sfn.StateMachine.fromStateMachineArn(stack, 'Alias', arn(child));
    let error = '';
    try {
      new NestedWorkflowRole(stack, 'ParentRole', { child: alias });
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toMatch(message);
    // A token is shown as <token>, or (a reference to another attribute) as the attribute it is.
    expect(error).toMatch(/got: (<token>|the Name of Stack\/Child\/Resource \(AWS::StepFunctions::StateMachine\))/);
    expect(error).not.toMatch(/\$\{Token\[/);
    // Characters a terminal would not show are escaped.
    expect(error).not.toMatch(/[\u0000-\u001f]/);
  });
});

test('an alias of a state machine of another region is refused by its region, with no raw token', () => {
  const stack = newStack();
  const other = new Stack(stack.node.root as Construct, 'Other', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const child = inStackChild(other, 'Child');
  const alias = sfn.StateMachine.fromStateMachineArn(stack, 'Alias', `${child.stateMachineArn}:PROD`);
  expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child: alias })).toThrow(
    "Stack/ParentRole: `child` <token>:PROD is in region eu-west-1, but the parent's stack is in region us-east-1.",
  );
});

describe('substitution keys are own keys only', () => {
  test.each(['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf'])(
    '${%s} in StateMachineArn is a missing substitution',
    (key) => {
      const stack = newStack();
      expect(
        () =>
          new NestedWorkflowRole(stack, 'ParentRole', {
            definitionBody: definitionStarting(`\${${key}}`),
            definitionSubstitutions: { ChildArn: stateMachineArn('Child') },
          }),
      ).toThrow(
        `state 'Start' uses \${${key}} in its Parameters.StateMachineArn, but \`definitionSubstitutions\` has no \`${key}\` (it has: ChildArn)`,
      );
    },
  );

  test.each(['toString', 'constructor', 'hasOwnProperty'])('${%s} in Resource is a missing substitution', (key) => {
    const stack = newStack();
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: definitionStarting(stateMachineArn('Child'), `\${${key}}`),
          definitionSubstitutions: { ChildArn: stateMachineArn('Child') },
        }),
    ).toThrow(`state 'Start' uses \${${key}} in its Resource, but \`definitionSubstitutions\` has no \`${key}\``);
  });

  test('a key that is given is used, even when it is named like a member of Object.prototype', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: definitionStarting('${toString}'),
      definitionSubstitutions: { toString: stateMachineArn('Child') },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('Child') }],
      },
    });
  });
});

describe('names Step Functions or IAM cannot hold are refused, naming the character', () => {
  test.each([
    ['a NUL', 'A\u0000', 'holds U+0000, a control character, which Step Functions forbids in names'],
    ['a C1 control character', 'A\u0085', 'holds U+0085, a control character'],
    ['U+FFFF', 'A\uffff', 'holds U+FFFF, a control character'],
    ['a lone high surrogate', 'A\ud800', 'holds U+D800, a lone surrogate'],
    ['a lone low surrogate', 'A\udc00B', 'holds U+DC00, a lone surrogate'],
    ['a character outside Latin-1', 'Käse-日本', 'holds U+65E5 (日), which no IAM policy can hold'],
    ['an emoji', 'Job-\u{1F680}', 'holds U+1F680 (\u{1F680}), which no IAM policy can hold'],
    ['a no-break space', 'A\u00a0B', 'holds U+00A0, white space'],
    ['a tab', 'A\tB', 'holds U+0009, a control character'],
    ['a bracket', 'A[1]', 'holds U+005B ([), which Step Functions forbids'],
    ['a question mark', 'A?', 'holds U+003F (?), which Step Functions forbids'],
    ['81 characters', 'x'.repeat(81), 'has 81 characters, more than 80'],
  ])('%s in a child name', (_what, name, problem) => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn(name));
    let error = '';
    try {
      new NestedWorkflowRole(stack, 'ParentRole', { child });
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toContain(`check: name, which ${problem}`);
    expect(error).not.toMatch(/[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/u);
  });

  test.each([
    ['a NUL', 'PROD\u0000', 'U+0000, a control character'],
    ['a lone surrogate', '\udfff', 'U+DFFF, a lone surrogate'],
    ['a character outside Latin-1', 'ПРОД', 'U+041F (П), which no IAM policy can hold'],
  ])('%s in an alias or version', (_what, qualifier, problem) => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', `${stateMachineArn('Child')}:${qualifier}`);
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child })).toThrow(
      `check: alias or version, which holds ${problem}`,
    );
  });

  test('the name of an L1 state machine of the app', () => {
    const stack = newStack();
    const child = inStackChild(stack, 'Child');
    (child.node.defaultChild as sfn.CfnStateMachine).stateMachineName = 'Worker-日本';
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child })).toThrow(
      /`child` must be a state machine with a name Step Functions and IAM accept \(1-80 characters from U\+0021-U\+007E and U\+00A1-U\+00FF, .*\), got: Stack\/Child\/Resource named Worker-日本, which holds U\+65E5 \(日\), which no IAM policy can hold/,
    );
  });

  test('a name in Latin-1 that both accept is granted', async () => {
    const stack = newStack();
    const name = 'Käse-Übersicht_ñ.(1)';
    new NestedWorkflowRole(stack, 'ParentRole', { child: importedChild(stack, 'Child', stateMachineArn(name)) });
    expect(await failedProbes(stack, name, 'REQUEST_RESPONSE')).toEqual([]);
  });
});
