import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JsonObject } from '../../lib/private/model/json';
import { describeMarker, TemplateReader } from '../../lib/private/read/template-reader';

const TEMPLATE: JsonObject = {
  Parameters: {
    Name: { Type: 'String', Default: 'Child' },
    NoDefault: { Type: 'String' },
    Names: { Type: 'CommaDelimitedList', Default: 'A,B' },
    Untyped: { Default: 'u' },
  },
  Mappings: { Stages: { prod: { Suffix: 'Prod' } } },
  Resources: {
    Named: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: 'Named' } },
    Unnamed: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} },
    Version: { Type: 'AWS::StepFunctions::StateMachineVersion', Properties: { StateMachineArn: { Ref: 'Named' } } },
    Alias: {
      Type: 'AWS::StepFunctions::StateMachineAlias',
      Properties: { Name: 'PROD', DeploymentPreference: { StateMachineVersionArn: { Ref: 'Version' } } },
    },
    Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'Parent', Path: 'team' } },
    Managed: { Type: 'AWS::IAM::ManagedPolicy', Properties: { ManagedPolicyName: 'Grants' } },
    Rule: { Type: 'AWS::Events::Rule', Properties: { Name: 'Nightly' } },
    Routed: {
      Type: 'AWS::StepFunctions::StateMachineAlias',
      Properties: {
        Name: 'Routed',
        RoutingConfiguration: [{ StateMachineVersionArn: { Ref: 'Version' }, Weight: 100 }],
      },
    },
    Bare: { Type: 'AWS::StepFunctions::StateMachineAlias', Properties: { Name: 'Bare' } },
    Key: { Type: 'AWS::KMS::Key', Properties: {} },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'Notify' } },
    Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
    Loop: { Type: 'AWS::IAM::Role', Properties: { RoleName: { 'Fn::GetAtt': ['Loop', 'Arn'] } } },
  },
};

const known = new TemplateReader(TEMPLATE, { partition: 'aws', region: 'us-east-1', account: '111111111111' });
const unknown = new TemplateReader(TEMPLATE, {});

describe('TemplateReader', () => {
  test.each<[string, unknown, unknown, unknown]>([
    [
      'pseudo parameters',
      { 'Fn::Sub': '${AWS::Partition}:${AWS::Region}:${AWS::AccountId}' },
      'aws:us-east-1:111111111111',
      '⟨Partition⟩:⟨Region⟩:⟨AccountId⟩',
    ],
    ['AWS::URLSuffix', { Ref: 'AWS::URLSuffix' }, 'amazonaws.com', '⟨URLSuffix⟩'],
    ['another pseudo parameter', { Ref: 'AWS::StackName' }, '⟨AWS..StackName⟩', '⟨AWS..StackName⟩'],
    ['a parameter with a Default', { Ref: 'Name' }, 'Child', 'Child'],
    ['a parameter without Default', { Ref: 'NoDefault' }, '⟨Parameter.NoDefault⟩', '⟨Parameter.NoDefault⟩'],
    ['a list parameter', { 'Fn::Join': ['+', { Ref: 'Names' }] }, 'A+B', 'A+B'],
    [
      'a named state machine',
      { Ref: 'Named' },
      'arn:aws:states:us-east-1:111111111111:stateMachine:Named',
      'arn:⟨Partition⟩:states:⟨Region⟩:⟨AccountId⟩:stateMachine:Named',
    ],
    ['an unnamed state machine', { 'Fn::GetAtt': 'Unnamed.Name' }, '⟨Name.Unnamed⟩', '⟨Name.Unnamed⟩'],
    [
      'a version',
      { Ref: 'Version' },
      'arn:aws:states:us-east-1:111111111111:stateMachine:Named:⟨Name.Version⟩',
      expect.any(String),
    ],
    ['an alias', { Ref: 'Alias' }, 'arn:aws:states:us-east-1:111111111111:stateMachine:Named:PROD', expect.any(String)],
    [
      'a role name and ARN with a path',
      { 'Fn::Join': [' ', [{ Ref: 'Role' }, { 'Fn::GetAtt': ['Role', 'Arn'] }]] },
      'Parent arn:aws:iam::111111111111:role/team/Parent',
      expect.any(String),
    ],
    ['a managed policy', { Ref: 'Managed' }, 'arn:aws:iam::111111111111:policy/Grants', expect.any(String)],
    [
      'a rule',
      { 'Fn::Join': [' ', [{ Ref: 'Rule' }, { 'Fn::GetAtt': ['Rule', 'Arn'] }]] },
      'Nightly arn:aws:events:us-east-1:111111111111:rule/Nightly',
      expect.any(String),
    ],
    [
      'a key',
      { 'Fn::GetAtt': ['Key', 'Arn'] },
      'arn:aws:kms:us-east-1:111111111111:key/⟨Name.Key⟩',
      expect.any(String),
    ],
    [
      'a function',
      { 'Fn::GetAtt': ['Fn', 'Arn'] },
      'arn:aws:lambda:us-east-1:111111111111:function:Notify',
      expect.any(String),
    ],
    ['another resource', { Ref: 'Queue' }, '⟨Name.Queue⟩', '⟨Name.Queue⟩'],
    ['an attribute not read', { 'Fn::GetAtt': ['Queue', 'Arn'] }, '⟨Unknown.Fn..GetAtt Queue.Arn⟩', expect.any(String)],
    ['a missing resource', { Ref: 'Missing' }, '⟨Unknown.Ref Missing⟩', expect.any(String)],
    [
      'a GetAtt of a missing resource',
      { 'Fn::GetAtt': ['Missing', 'Arn'] },
      '⟨Unknown.Fn..GetAtt Missing.Arn⟩',
      expect.any(String),
    ],
    [
      'a reference cycle',
      { 'Fn::GetAtt': ['Loop', 'Arn'] },
      expect.stringContaining('⟨Unknown.GetAtt Loop.Arn⟩'),
      expect.any(String),
    ],
    [
      'Fn::Sub with variables, a literal ${!} and a GetAtt',
      { 'Fn::Sub': ['${X}-${!Literal}-${Rule.Arn}', { X: { Ref: 'Name' } }] },
      'Child-${Literal}-arn:aws:events:us-east-1:111111111111:rule/Nightly',
      expect.any(String),
    ],
    ['Fn::Select of Fn::Split', { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'Named' }] }] }, 'Named', 'Named'],
    [
      'Fn::Select out of range',
      { 'Fn::Select': [1, { 'Fn::Split': [':', { Ref: 'NoDefault' }] }] },
      '⟨Parameter.NoDefault⟩',
      expect.any(String),
    ],
    [
      'Fn::Select out of range of a known list',
      { 'Fn::Select': [2, ['a']] },
      '⟨Unknown.Fn..Select 2 of a⟩',
      expect.any(String),
    ],
    ['Fn::ImportValue', { 'Fn::ImportValue': 'Shared:ChildArn' }, '⟨Import.Shared.ChildArn⟩', expect.any(String)],
    ['Fn::FindInMap', { 'Fn::FindInMap': ['Stages', 'prod', 'Suffix'] }, 'Prod', 'Prod'],
    [
      'Fn::FindInMap without entry',
      { 'Fn::FindInMap': ['Stages', 'dev', 'Suffix'] },
      '⟨Unknown.Fn..FindInMap Stages.dev.Suffix⟩',
      expect.any(String),
    ],
    ['Fn::If', { 'Fn::If': ['IsProd', 'a', 'b'] }, '⟨Unknown.Fn..If⟩', expect.any(String)],
    ['an intrinsic not read', { 'Fn::Base64': 'x' }, '⟨Unknown.Fn..Base64⟩', expect.any(String)],
    [
      'malformed Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::FindInMap',
      [{ 'Fn::Join': 'x' }, { 'Fn::Sub': 1 }, { 'Fn::Select': 'x' }, { 'Fn::Split': 'x' }, { 'Fn::FindInMap': 'x' }],
      [
        '⟨Unknown.Fn..Join⟩',
        '⟨Unknown.Fn..Sub⟩',
        '⟨Unknown.Fn..Select⟩',
        ['⟨Unknown.Fn..Split⟩'],
        '⟨Unknown.Fn..FindInMap⟩',
      ],
      expect.any(Array),
    ],
    [
      'AWS::NoValue in a list and an object',
      { list: ['a', { Ref: 'AWS::NoValue' }], gone: { Ref: 'AWS::NoValue' } },
      { list: ['a'] },
      { list: ['a'] },
    ],
  ])('%s', (_name, value, withEnv, withoutEnv) => {
    expect(known.resolve(value as any)).toEqual(withEnv);
    expect(unknown.resolve(value as any)).toEqual(withoutEnv);
  });

  test('a template without Mappings, Resources or Parameters', () => {
    const empty = new TemplateReader({}, {});
    expect(empty.resolve({ 'Fn::FindInMap': ['A', 'b', 'c'] })).toBe('⟨Unknown.Fn..FindInMap A.b.c⟩');
    expect(empty.resolve({ Ref: 'X' })).toBe('⟨Unknown.Ref X⟩');
  });

  test('URLSuffix of aws-cn; strings of numbers, lists and objects', () => {
    const cn = new TemplateReader(TEMPLATE, { partition: 'aws-cn' });
    expect(cn.resolveString({ Ref: 'AWS::URLSuffix' })).toBe('amazonaws.com.cn');
    expect(cn.resolveString(3)).toBe('3');
    expect(cn.resolveString(['a', 'b'])).toBe('a,b');
    expect(cn.resolveString({ a: 1 })).toBe('⟨Unknown.object⟩');
  });

  test('markers read as what they stand for', () => {
    expect(describeMarker('⟨AccountId⟩')).toBe("AWS::AccountId (the stack's environment is not known)");
    expect(describeMarker('⟨Import.Shared.ChildArn⟩')).toBe('Fn::ImportValue Shared.ChildArn');
    expect(describeMarker('⟨Unknown.Fn..If⟩')).toBe('Fn::If');
  });

  test('a file asset is found by its object key in the assets manifests beside the template', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwr-assets-'));
    try {
      fs.writeFileSync(path.join(dir, 'asset.abc.json'), '{"StartAt":"A"}');
      fs.writeFileSync(path.join(dir, 'Broken.assets.json'), 'not json');
      fs.writeFileSync(
        path.join(dir, 'Stack.assets.json'),
        JSON.stringify({
          files: {
            abc: { source: { path: 'asset.abc.json' }, destinations: { d: { objectKey: 'abc.json' } } },
            gone: { source: { path: 'asset.gone.json' }, destinations: { d: { objectKey: 'gone.json' } } },
            local: { source: { path: 'asset.local.json' } },
          },
        }),
      );
      const reader = new TemplateReader({}, {}, path.join(dir, 'Stack.template.json'));
      expect(reader.fileAsset('abc.json')).toBe('{"StartAt":"A"}');
      expect(reader.fileAsset('gone.json')).toBeUndefined();
      expect(reader.fileAsset('other.json')).toBeUndefined();
      expect(new TemplateReader({}, {}).fileAsset('abc.json')).toBeUndefined();
      expect(new TemplateReader({}, {}, path.join(dir, 'missing', 'x.json')).fileAsset('abc.json')).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the template reader on hostile templates', () => {
  test.each([
    ['a null template', null, 'x.json is not a CloudFormation template: it holds null, not an object'],
    ['a list', [], 'x.json is not a CloudFormation template: it holds a list, not an object'],
    [
      'a null resource',
      { Resources: { X: null } },
      'the resource X of x.json must be an object with a Type, got: null',
    ],
    [
      'a resource without Type',
      { Resources: { X: {} } },
      'the resource X of x.json must be an object with a Type, got: {}',
    ],
    [
      'Properties that are not an object',
      { Resources: { X: { Type: 'AWS::IAM::Role', Properties: 'p' } } },
      'the Properties of resource X of x.json must be an object, got: "p"',
    ],
  ])('%s: an error naming the template and the resource', (_name, template, message) => {
    expect(() => new TemplateReader(template as unknown as JsonObject, {}, 'x.json')).toThrow(message);
  });

  test('a value nested 5,000 levels deep resolves without overflowing the stack', () => {
    let deep: JsonObject = { Ref: 'AWS::Region' };
    for (let i = 0; i < 5000; i++) deep = { x: deep };
    let resolved = new TemplateReader({ Resources: {} }, { region: 'eu-west-1' }).resolve(deep);
    for (let i = 0; i < 5000; i++) resolved = (resolved as JsonObject).x;
    expect(resolved).toBe('eu-west-1');
  });

  test('intrinsics nested 5,000 levels deep: a marker, not a stack overflow', () => {
    let deep: JsonObject = { Ref: 'AWS::Region' };
    for (let i = 0; i < 5000; i++) deep = { 'Fn::Join': ['', [deep]] };
    expect(new TemplateReader({ Resources: {} }, { region: 'eu-west-1' }).resolve(deep)).toBe(
      '⟨Unknown.Fn..Join nested too deep⟩',
    );
  });

  test.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    '{"Ref": "%s"} is an unknown reference unless the template defines that name',
    (name) => {
      const env = { partition: 'aws', region: 'us-east-1', account: '111111111111' };
      expect(new TemplateReader({ Resources: {} }, env).resolve({ Ref: name })).toBe(`⟨Unknown.Ref ${name}⟩`);
      const parameters = JSON.parse(`{"${name}": {"Type": "String", "Default": "given"}}`);
      expect(new TemplateReader({ Parameters: parameters, Resources: {} }, env).resolve({ Ref: name })).toBe('given');
      expect(new TemplateReader({ Resources: {} }, env).resolve({ 'Fn::Sub': `\${${name}}` })).toBe(
        `⟨Unknown.Ref ${name}⟩`,
      );
    },
  );

  test('names chained through Fn::Select over Fn::GetAtt of 40 state machines resolve once each (memoized)', () => {
    const resources: JsonObject = {
      M0: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: 'Base' } },
    };
    const nameOf = (i: number) => ({
      'Fn::Select': [6, { 'Fn::Split': [':', { 'Fn::GetAtt': [`M${i}`, 'Arn'] }] }],
    });
    for (let i = 1; i < 40; i++) {
      resources[`M${i}`] = {
        Type: 'AWS::StepFunctions::StateMachine',
        // Two references to the one before: 2^40 evaluations without memoizing.
        Properties: {
          StateMachineName: { 'Fn::Select': [0, [nameOf(i - 1), { 'Fn::GetAtt': [`M${i - 1}`, 'Name'] }]] },
        },
      };
    }
    const reader = new TemplateReader({ Resources: resources }, { partition: 'aws', region: 'r', account: '1' });
    const name = reader.resolveString({ 'Fn::GetAtt': ['M39', 'Name'] });
    expect(name).toBe('Base');
  });
});
