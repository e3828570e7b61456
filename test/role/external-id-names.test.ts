import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole, NestedWorkflowTargetRole } from '../../lib';
import { externalIdNameProblem } from '../../lib/private/model/names';
import {
  ACCOUNT,
  importedChild,
  inStackChild,
  newStack,
  OTHER_ACCOUNT,
  PARTITION,
  REGION,
  stateMachineArn,
} from '../util/fixtures';

const { RUN_JOB, REQUEST_RESPONSE } = sfn.IntegrationPattern;
const TARGET_ROLE_ARN = `arn:${PARTITION}:iam::${OTHER_ACCOUNT}:role/ChildStarter`;
const PARENT_ROLE_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:role/ParentRole`;
const CHILD_ARN = stateMachineArn('Child', { account: OTHER_ACCOUNT });
const RULE = '[\\w+=,.@:/-]: ASCII letters, digits and _ + = , . @ : / -';

/** Names Step Functions accepts and sts:ExternalId refuses, with the character the message must name. */
const BAD_NAMES: Array<[string, string]> = [
  ['Order(v2)', 'U+0028 (()'],
  ["Order'v2", "U+0027 (')"],
  ['Order!v2', 'U+0021 (!)'],
  ['Ordér', 'U+00E9 (é)'],
  ['Order\u00a1', 'U+00A1 (\u00a1)'],
];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function credentials(stack: Stack): sfn.Credentials {
  return { role: sfn.TaskRole.fromRole(iam.Role.fromRoleArn(stack, 'Starter', TARGET_ROLE_ARN)) };
}

/** A definition whose state 'Run' starts the child in the other account with `.sync` through Credentials. */
function crossAccountDefinition(resource = 'arn:aws:states:::states:startExecution.sync:2'): sfn.DefinitionBody {
  return sfn.DefinitionBody.fromString(
    JSON.stringify({
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: resource,
          Credentials: { RoleArn: TARGET_ROLE_ARN },
          Parameters: { StateMachineArn: CHILD_ARN },
          End: true,
        },
      },
    }),
  );
}

describe('the external id rule (model)', () => {
  test.each(BAD_NAMES)('%s: names %s', (name, character) => {
    expect(externalIdNameProblem(name)).toBe(`holds ${character}, which sts:ExternalId does not allow (${RULE})`);
  });

  test.each(['Order', 'Order_v2', 'Order-v2', 'Order.v2', 'a+b=c@d', 'x'.repeat(80)])('%s fits', (name) => {
    expect(externalIdNameProblem(name)).toBeUndefined();
  });
});

describe('a parent named outside sts:ExternalId that starts a child with .sync through Credentials', () => {
  test.each(BAD_NAMES)(
    'parentStateMachineName %s with a RUN_JOB child through credentials is refused',
    (name, character) => {
      const stack = newStack();
      expect(
        () =>
          new NestedWorkflowRole(stack, 'ParentRole', {
            parentStateMachineName: name,
            child: importedChild(stack, 'Child', CHILD_ARN),
            integrationPattern: RUN_JOB,
            credentials: credentials(stack),
          }),
      ).toThrow(
        new RegExp(
          escape(
            `ParentRole: \`parentStateMachineName\` ${name} holds ${character}, which sts:ExternalId does not allow (${RULE}), ` +
              `but \`child\` ${CHILD_ARN} is started with .sync (RUN_JOB) through Credentials, in another account, and Step Functions ` +
              "then sends the parent state machine's ARN as sts:ExternalId. Rename the parent state machine with those characters only, " +
              'or start the child with startExecution (request-response).',
          ),
        ),
      );
      // Nothing was created.
      expect(stack.node.tryFindChild('ParentRole')?.node.tryFindChild('Resource')).toBeUndefined();
    },
  );

  test('the state of a definition is named', () => {
    const stack = newStack();
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          parentStateMachineName: 'Order(v2)',
          definitionBody: crossAccountDefinition(),
        }),
    ).toThrow(
      /but state 'Run' starts the child arn:aws:states:us-east-1:222222222222:stateMachine:Child with \.sync \(RUN_JOB\) through Credentials/,
    );
  });

  test('addChild and addDefinition refuse it too', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { parentStateMachineName: 'Order(v2)' });
    expect(() =>
      parentRole.addChild(importedChild(stack, 'Child', CHILD_ARN), {
        integrationPattern: RUN_JOB,
        credentials: credentials(stack),
      }),
    ).toThrow(/`parentStateMachineName` Order\(v2\) holds U\+0028/);
    expect(() => parentRole.addDefinition(crossAccountDefinition())).toThrow(/but state 'Run' starts the child/);
  });

  test('the name of the state machine that uses the role is checked at synthesis', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody: crossAccountDefinition() });
    new sfn.StateMachine(stack, 'Parent', {
      stateMachineName: "Order'v2",
      definitionBody: crossAccountDefinition(),
      role: parentRole.role,
    });
    expect(() => app.synth()).toThrow(
      /the parent state machine Stack\/Parent that uses this role is named Order'v2 holds U\+0027 \('\), which sts:ExternalId does not allow .* but state 'Run' starts the child/,
    );
  });

  test.each<[string, Partial<{ pattern: sfn.IntegrationPattern; name: string }>]>([
    ['request-response through credentials', { pattern: REQUEST_RESPONSE, name: 'Order(v2)' }],
    ['a name that fits', { pattern: RUN_JOB, name: 'Order.v2@eu_1' }],
  ])('accepted: %s', (_case, { pattern, name }) => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      parentStateMachineName: name,
      child: importedChild(stack, 'Child', CHILD_ARN),
      integrationPattern: pattern,
      credentials: credentials(stack),
    });
    expect(stack.node.findChild('ParentRole').node.findChild('Resource')).toBeDefined();
  });

  test('a .sync child in the parent account does not send an external id: the name is not checked', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', {
      parentStateMachineName: 'Order(v2)',
      child: inStackChild(stack, 'Child'),
      integrationPattern: RUN_JOB,
    });
    expect(stack.node.findChild('ParentRole').node.findChild('Resource')).toBeDefined();
  });
});

describe('NestedWorkflowTargetRole whose parent is named outside sts:ExternalId', () => {
  function targetRole(stack: Stack, parentName: string, pattern?: sfn.IntegrationPattern) {
    return new NestedWorkflowTargetRole(stack, 'Starter', {
      child: importedChild(stack, 'Child', stateMachineArn('Child', { account: OTHER_ACCOUNT })),
      integrationPattern: pattern,
      parentRole: iam.Role.fromRoleArn(stack, 'ParentRoleRef', PARENT_ROLE_ARN),
      parentStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Parent', stateMachineArn(parentName)),
    });
  }
  const childStack = () => newStack({ props: { env: { account: OTHER_ACCOUNT, region: REGION } } });

  test.each(BAD_NAMES)('parent %s with a RUN_JOB child is refused, naming %s', (name, character) => {
    expect(() => targetRole(childStack(), name, RUN_JOB)).toThrow(
      new RegExp(
        escape(
          `Starter: the name of \`parentStateMachine\` ${name} holds ${character}, which sts:ExternalId does not allow (${RULE}), ` +
            'but `child` arn:aws:states:us-east-1:222222222222:stateMachine:Child is started with .sync (RUN_JOB) through this role',
        ),
      ),
    );
  });

  test('REQUEST_RESPONSE is accepted; a RUN_JOB child added later is refused', () => {
    const stack = childStack();
    const starter = targetRole(stack, 'Order(v2)');
    expect(() =>
      starter.addChild(importedChild(stack, 'Other', stateMachineArn('Other', { account: OTHER_ACCOUNT })), {
        integrationPattern: RUN_JOB,
      }),
    ).toThrow(/the name of `parentStateMachine` Order\(v2\) holds U\+0028/);
  });
});
