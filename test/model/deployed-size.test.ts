/**
 * The upper bound of a policy document's deployed size, from its CloudFormation form: the quota packing relies on it
 * never being below what IAM counts once CloudFormation has substituted every intrinsic function.
 */
import { UNKNOWN_VALUE_MAX } from '../../lib/private/model/bounds';
import { deployedSize, ReferenceBound } from '../../lib/private/model/packing';

/** Known bounds: a parameter with MaxLength 30, a state machine's ARN and name. */
const reference: ReferenceBound = (logicalId, attribute) => {
  if (logicalId === 'Param' && attribute === undefined) return 30;
  if (logicalId === 'Machine') return attribute === 'Name' ? 80 : 143;
  return undefined;
};

/** The size of a document whose one resource is `value`, less the same document with an empty string. */
const boundOf = (value: unknown) =>
  deployedSize({ Resource: value }, reference) - deployedSize({ Resource: '' }, reference);

describe('deployedSize', () => {
  test('a literal document is measured exactly, as IAM counts it (JSON without white space)', () => {
    const document = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['a:B', 'c:D'], Resource: 'x"y' }],
    };
    expect(deployedSize(document, reference)).toBe(JSON.stringify(document).length);
  });

  test.each<[string, unknown, number]>([
    ['AWS::Partition', { Ref: 'AWS::Partition' }, 'aws-us-gov'.length],
    ['AWS::Region', { Ref: 'AWS::Region' }, 'ap-southeast-1'.length],
    ['AWS::AccountId', { Ref: 'AWS::AccountId' }, 12],
    ['AWS::URLSuffix', { Ref: 'AWS::URLSuffix' }, 'amazonaws.com.cn'.length],
    ['AWS::NoValue', { Ref: 'AWS::NoValue' }, 0],
    ['a parameter with MaxLength', { Ref: 'Param' }, 30],
    ['a parameter or resource of unknown length', { Ref: 'Other' }, UNKNOWN_VALUE_MAX],
    ['a state machine of the app', { Ref: 'Machine' }, 143],
    ['the name of a state machine of the app', { 'Fn::GetAtt': ['Machine', 'Name'] }, 80],
    ['an attribute of unknown length', { 'Fn::GetAtt': ['Other', 'Arn'] }, UNKNOWN_VALUE_MAX],
    ['an import', { 'Fn::ImportValue': 'Export' }, UNKNOWN_VALUE_MAX],
    ['a join', { 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'states']] }, 3 + 10 + 6 + 2],
    ['a join of a list that is not literal', { 'Fn::Join': [':', { Ref: 'List' }] }, UNKNOWN_VALUE_MAX],
    ['a select from a list', { 'Fn::Select': [1, ['a', 'bbbb', { Ref: 'AWS::AccountId' }]] }, 12],
    ['a select from a split', { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'Param' }] }] }, 30],
    ['a select from something else', { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] }, UNKNOWN_VALUE_MAX],
    ['a condition', { 'Fn::If': ['Cond', 'short', { Ref: 'AWS::Region' }] }, 14],
    ['a sub with pseudo parameters', { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::b' }, 'arn::s3:::b'.length + 10],
    ['a sub with a reference and an attribute', { 'Fn::Sub': '${Param}/${Machine.Name}' }, 1 + 30 + 80],
    ['a sub with a literal ${!x}', { 'Fn::Sub': 'a${!x}' }, 'a${!x}'.length],
    ['a sub with variables', { 'Fn::Sub': ['${A}-${B}', { A: 'xyz', B: { Ref: 'AWS::Region' } }] }, 3 + 1 + 14],
    ['a sub that is not a string', { 'Fn::Sub': [{ Ref: 'X' }] }, UNKNOWN_VALUE_MAX],
    ['a number', { 'Fn::Join': ['', [12, true]] }, 6],
    ['an unknown function', { 'Fn::Base64': 'abc' }, UNKNOWN_VALUE_MAX],
    ['an object that is not a function', { 'Fn::Join': ['', [{ a: 1 }]] }, UNKNOWN_VALUE_MAX],
    ['a Ref that is not a name', { Ref: 42 }, UNKNOWN_VALUE_MAX],
    ['a GetAtt that is not a pair', { 'Fn::GetAtt': 'Machine.Arn' }, UNKNOWN_VALUE_MAX],
    ['a join that is not a pair', { 'Fn::Join': 'x' }, UNKNOWN_VALUE_MAX],
    ['a select that is not a pair', { 'Fn::Select': 'x' }, UNKNOWN_VALUE_MAX],
    ['a select from a literal', { 'Fn::Select': [0, 'x'] }, UNKNOWN_VALUE_MAX],
    ['a condition that is not a triple', { 'Fn::If': 'x' }, UNKNOWN_VALUE_MAX],
    ['a sub that is not a string or pair', { 'Fn::Sub': 42 }, UNKNOWN_VALUE_MAX],
    ['a sub with an attribute of unknown length', { 'Fn::Sub': '${Other.Arn}' }, UNKNOWN_VALUE_MAX],
    [
      'a sub with a variable of unknown length',
      { 'Fn::Sub': ['${A}', { A: { 'Fn::ImportValue': 'X' } }] },
      UNKNOWN_VALUE_MAX,
    ],
    ['a sub of a parameter of unknown length', { 'Fn::Sub': '${Other}' }, UNKNOWN_VALUE_MAX],
    ['the ARN attribute of a state machine of the app', { 'Fn::GetAtt': ['Machine', 'Arn'] }, 143],
  ])('%s is bounded by the longest text it deploys as', (_what, value, bound) => {
    // A quoted string in place of the intrinsic: the bound plus the quotes, less the empty string's quotes.
    expect(boundOf(value)).toBe(bound);
  });

  test('a value CloudFormation leaves out (undefined) takes no room', () => {
    expect(deployedSize([undefined], reference)).toBe(2);
  });

  test('lists and objects are measured with their punctuation', () => {
    const document = { A: [{ Ref: 'AWS::AccountId' }, 'x'], B: null, C: 1 };
    expect(deployedSize(document, reference)).toBe(JSON.stringify({ A: ['123456789012', 'x'], B: null, C: 1 }).length);
  });
});
