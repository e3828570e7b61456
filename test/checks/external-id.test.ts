import { checkTemplate } from '../../lib/private/checks/engine';
import { TemplateReader } from '../../lib/private/read/template-reader';
import { ACCOUNT, OTHER_ACCOUNT, PARTITION, REGION, stateMachineArn } from '../util/fixtures';

const TARGET_ROLE_ARN = `arn:${PARTITION}:iam::${OTHER_ACCOUNT}:role/ChildStarter`;
const CHILD_ARN = stateMachineArn('Child', { account: OTHER_ACCOUNT });
const RULE = '[\\w+=,.@:/-]: ASCII letters, digits and _ + = , . @ : / -';
const BAD_NAMES: Array<[string, string]> = [
  ['Order(v2)', 'U+0028 (()'],
  ["Order'v2", "U+0027 (')"],
  ['Ordér', 'U+00E9 (é)'],
];

describe('the checks (NWR5) on a template whose parent is named outside sts:ExternalId', () => {
  const ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };
  function findings(name: string, resource: string): string[] {
    const template = {
      Resources: {
        Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
        Parent: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            StateMachineName: name,
            RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
            DefinitionString: JSON.stringify({
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
          },
        },
      },
    };
    return checkTemplate(new TemplateReader(template, ENV))
      .filter((f) => f.rule.id === 'NWR5')
      .map((f) => f.message);
  }

  test.each(BAD_NAMES)('%s with a .sync child through Credentials: an NWR5 error naming %s', (name, character) => {
    expect(findings(name, 'arn:aws:states:::states:startExecution.sync')).toEqual([
      `The definition cannot run: the parent's StateMachineName ${name} holds ${character}, which sts:ExternalId does not allow (${RULE}), ` +
        "but state 'Run' starts its child with .sync through Credentials (in another account), and Step Functions then sends the parent's ARN as sts:ExternalId. Rename the parent state machine.",
    ]);
  });

  test('request-response through Credentials, or a name that fits: no NWR5', () => {
    expect(findings('Order(v2)', 'arn:aws:states:::states:startExecution')).toEqual([]);
    expect(findings('Order.v2', 'arn:aws:states:::states:startExecution.sync:2')).toEqual([]);
  });
});
