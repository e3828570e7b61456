import { Aws, Token } from 'aws-cdk-lib';
import { IntegrationPattern } from 'aws-cdk-lib/aws-stepfunctions';
import {
  EVENTS_ACTIONS,
  EXECUTION_ACTIONS,
  START_EXECUTION,
  START_SYNC_EXECUTION,
} from '../../lib/private/model/actions';
import { isRoleArn, managedRuleArn } from '../../lib/private/model/arns';
import {
  KEY_ARN_MAX,
  PSEUDO_PARAMETER_MAX,
  ROLE_ARN_MAX,
  STATE_MACHINE_ARN_MAX,
  STATE_MACHINE_NAME_MAX,
} from '../../lib/private/model/bounds';
import { isIntrinsic } from '../../lib/private/model/json';
import { actionsOfNeeds, missingActions, needsFor, unionNeeds } from '../../lib/private/model/needs';
import { displayValue, renderResolved } from '../../lib/private/model/render';

// GIVEN the longest values of each part: the partition aws-us-gov, the region ap-southeast-1, a 12-digit account.
const LONGEST = { partition: 'aws-us-gov', region: 'ap-southeast-1', account: '123456789012' };

describe('length bounds: one definition, equal to the longest literal they stand for', () => {
  test.each([
    [
      'a state machine ARN',
      STATE_MACHINE_ARN_MAX,
      `arn:aws-us-gov:states:ap-southeast-1:123456789012:stateMachine:${'n'.repeat(80)}`,
    ],
    [
      'an IAM role ARN (512-character path, 64-character name)',
      ROLE_ARN_MAX,
      `arn:aws-us-gov:iam::123456789012:role${'/'.repeat(512)}${'r'.repeat(64)}`,
    ],
    ['a KMS key ARN', KEY_ARN_MAX, `arn:aws-us-gov:kms:ap-southeast-1:123456789012:key/${'k'.repeat(36)}`],
  ])('%s', (_what, bound, longest) => {
    expect(bound).toBe(longest.length);
  });

  test('pseudo parameters: the longest partition, region and account', () => {
    expect(PSEUDO_PARAMETER_MAX['AWS::Partition']).toBe(LONGEST.partition.length);
    expect(PSEUDO_PARAMETER_MAX['AWS::Region']).toBe(LONGEST.region.length);
    expect(PSEUDO_PARAMETER_MAX['AWS::AccountId']).toBe(LONGEST.account.length);
    expect(STATE_MACHINE_NAME_MAX).toBe(80);
  });
});

describe('the managed rule ARN: one form for the construct and the checks', () => {
  test('names the rule in the parent region and account', () => {
    expect(managedRuleArn({ partition: 'aws', region: 'eu-west-1', account: '111111111111' })).toBe(
      'arn:aws:events:eu-west-1:111111111111:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
    );
  });

  test('keeps tokens as they are (a stack without env)', () => {
    const arn = managedRuleArn({ partition: Aws.PARTITION, region: Aws.REGION, account: Aws.ACCOUNT_ID });
    expect(Token.isUnresolved(arn)).toBe(true);
    expect(arn.endsWith(':rule/StepFunctionsGetEventsForStepFunctionsExecutionRule')).toBe(true);
  });
});

describe('the role ARN form: one pattern for Credentials.RoleArn, credentials and parentRole', () => {
  test.each([
    ['arn:aws:iam::222222222222:role/Starter', true],
    ['arn:aws-cn:iam::222222222222:role/team/Starter', true],
    // The copy in the credentials check had drifted: it accepted a role ARN with no name.
    ['arn:aws:iam::222222222222:role/', false],
    ['arn:aws:iam::222222222222:user/Alice', false],
    ['arn:aws:iam::2222:role/Starter', false],
    ['arn:aws:sts::222222222222:assumed-role/Starter/session', false],
  ])('%s: %s', (arn, expected) => {
    expect(isRoleArn(arn)).toBe(expected);
  });
});

describe('needs: the union and the actions missing, for every need', () => {
  const standardSync = needsFor({ integrationPattern: IntegrationPattern.RUN_JOB, express: false, grantee: 'parent' });
  test('the union keeps the key and the external-id mark (the usage copy had dropped the key)', () => {
    const keyed = needsFor({
      integrationPattern: IntegrationPattern.RUN_JOB,
      express: false,
      grantee: 'parent',
      encryptionKey: 'arn:aws:kms:us-east-1:111111111111:key/k',
    });
    const union = unionNeeds([standardSync, keyed]);
    expect(union.decryptKey).toBe('arn:aws:kms:us-east-1:111111111111:key/k');
    expect(missingActions(union, standardSync)).toEqual([]);
  });

  test('the actions of a need are named from the one action list', () => {
    expect(actionsOfNeeds(standardSync)).toEqual([START_EXECUTION, ...EXECUTION_ACTIONS, ...EVENTS_ACTIONS]);
    const startSync = needsFor({ integrationPattern: IntegrationPattern.RUN_JOB, express: true, grantee: 'parent' });
    expect(actionsOfNeeds(startSync)).toEqual([START_SYNC_EXECUTION]);
    expect(missingActions(startSync, standardSync)).toEqual([START_EXECUTION, ...EXECUTION_ACTIONS, ...EVENTS_ACTIONS]);
  });
});

describe('the one value renderer', () => {
  test.each([
    [{ Ref: 'AWS::Partition' }, '${AWS::Partition}', '<partition>'],
    [{ Ref: 'Child' }, '${Child}', '<Child>'],
    // Object.prototype names are names like any other (the placeholder copy found `constructor` on the prototype).
    [{ Ref: 'constructor' }, '${constructor}', '<constructor>'],
    [{ 'Fn::GetAtt': ['Child', 'Name'] }, '${Child.Name}', '<token>'],
    [
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/X']] },
      'arn:${AWS::Partition}:iam::aws:policy/X',
      'arn:<partition>:iam::aws:policy/X',
    ],
    [{ 'Fn::ImportValue': 'Shared' }, '{"Fn::ImportValue":"Shared"}', '<token>'],
  ])('%j: %s in Fn::Sub notation, %s as a placeholder', (value, sub, placeholder) => {
    expect(renderResolved(value)).toBe(sub);
    expect(renderResolved(value, 'placeholder')).toBe(placeholder);
  });

  test('tokens and control characters in a string', () => {
    expect(displayValue(`arn:${Aws.PARTITION}:states:::lambda:invoke`)).toBe('arn:<partition>:states:::lambda:invoke');
    expect(displayValue(`${Aws.REGION}`)).toBe('<token>');
    expect(displayValue('Child\u0007')).toBe('Child\\u0007');
  });
});

describe('the one test of a CloudFormation intrinsic', () => {
  test.each([
    [{ Ref: 'Child' }, true],
    [{ 'Fn::Join': ['', []] }, true],
    [{ Ref: 'Child', Other: 1 }, false],
    [{ Function: 'x' }, false],
    [['Ref'], false],
    ['Ref', false],
    [null, false],
  ])('%j: %s', (value, expected) => {
    expect(isIntrinsic(value)).toBe(expected);
  });
});
