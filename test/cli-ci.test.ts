/**
 * The command line in CI and outside CDK (issue 18, items 12 and 14-18): --version, --format, --fail-on, exit codes,
 * cdk.out directories, files that are not templates, YAML templates with short-form tags, CLI wording (options and
 * files, not props and constructs), `--runtime-child`, a definition whose only nested workflows are Distributed Maps.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { App, NestedStack, Stack, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { main, version } from '../lib/cli';
import { ACCOUNT, PARTITION, REGION, stateMachineArn } from './util/fixtures';
import { mapRunProbesFor, ProbeCase } from './util/probes';
import { failedProbes as simulatedFailures } from './util/simulator';

function run(...args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

/** `policy <file> --region REGION --account ACCOUNT` with `extra` options. */
const policy = (file: string, ...extra: string[]) =>
  run('policy', file, '--region', REGION, '--account', ACCOUNT, ...extra);

const DOCS_TEMPLATE = path.join(__dirname, 'templates', 'aws-docs-parent.template.json');
const CHILD = stateMachineArn('Child');
const SYNC = (arn: string) =>
  JSON.stringify({
    StartAt: 'Run',
    States: {
      Run: {
        Type: 'Task',
        Resource: 'arn:aws:states:::states:startExecution.sync:2',
        Parameters: { StateMachineArn: arn },
        End: true,
      },
    },
  });

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwr-cli-ci-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A parent whose role grants only StartExecution: NWR1 (Describe/Stop, events). */
function missingGrants(id = 'Parent'): object {
  return {
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {},
          Policies: [
            {
              PolicyName: 'P',
              PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: CHILD }] },
            },
          ],
        },
      },
      [id]: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: { RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] }, DefinitionString: SYNC(CHILD) },
      },
    },
  };
}

describe('cdk-nested-workflow-role --version, exit codes and options', () => {
  test('--version prints the package version, exit 0', () => {
    expect(run('--version')).toEqual({ code: 0, out: `${version()}\n`, err: '' });
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test.each([
    [['bogus'], "Unknown command 'bogus'"],
    [['check', DOCS_TEMPLATE, '--bogus'], "Unknown option '--bogus'"],
    [['policy', 'x.asl.json', '--region', REGION, '--account', ACCOUNT, '--bogus'], "Unknown option '--bogus'"],
    [['check', DOCS_TEMPLATE, '--account', '12345'], '`--account` must be a 12-digit account id, got: 12345'],
    [
      ['check', DOCS_TEMPLATE, '--region', 'nowhere'],
      '`--region` must be a region name such as us-east-1, got: nowhere',
    ],
    [['check', DOCS_TEMPLATE, '--partition', 'aws-moon'], '`--partition` must be one of aws'],
    [
      ['check', DOCS_TEMPLATE, '--region', 'us-east-1', '--partition', 'aws-cn'],
      '`--partition` must be the partition of region us-east-1 (aws), got: aws-cn',
    ],
    [['check', DOCS_TEMPLATE, '--format', 'xml'], '`--format` must be text, json or sarif, got: xml'],
    [['check', DOCS_TEMPLATE, '--fail-on', 'info'], '`--fail-on` must be error or warning, got: info'],
    [['check', 'missing.template.json'], 'cannot read the template missing.template.json: no such file or directory'],
    [
      ['policy', 'missing.asl.json', '--region', REGION, '--account', ACCOUNT],
      'cannot read the definition missing.asl.json',
    ],
  ])('%j: exit 2 with the message', (args, message) => {
    const { code, out, err } = run(...args);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(message);
  });

  test.each([
    ['{}', '{}', 'is not a CloudFormation template: it holds {}, not an object with Resources.'],
    ['[]', '[]', 'is not a CloudFormation template: it holds a list, not an object with Resources.'],
    ['an ASL definition', SYNC(CHILD), 'is a state machine definition, not a CloudFormation template'],
    ['neither JSON nor YAML', '{ "Resources": ', 'is neither JSON nor YAML'],
    ['a null resource', '{"Resources": {"X": null}}', 'must be an object with a Type, got: null'],
  ])('check on a file that is not a template (%s): exit 2, naming the file', (_name, text, message) => {
    const file = write(`bad-${Math.random().toString(36).slice(2)}.json`, text);
    const { code, err } = run('check', file);
    expect(code).toBe(2);
    expect(err).toContain(file);
    expect(err).toContain(message);
  });

  test('--fail-on warning: warnings alone exit 1; the default (error) exits 0', () => {
    expect(run('check', DOCS_TEMPLATE).code).toBe(0);
    expect(run('check', DOCS_TEMPLATE, '--fail-on', 'warning').code).toBe(1);
  });

  test('--format json: the findings with rule, severity, template, parent and fix', () => {
    const file = write('missing.template.json', JSON.stringify(missingGrants()));
    const { code, out } = run('check', file, '--format', 'json', '--region', REGION, '--account', ACCOUNT);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual({
      findings: [expect.objectContaining({ ruleId: 'NWR1', severity: 'error', template: file, parent: 'Parent' })],
      errors: 1,
      warnings: 0,
      templates: 1,
      parents: 1,
    });
  });
});

describe('cdk-nested-workflow-role check --format sarif', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'sarif-schema-2.1.0.json'), 'utf-8'));
  // The schema is draft-04; its language pattern is not valid with the u flag (a known erratum of the schema).
  const ajv = new Ajv({ strict: false, unicodeRegExp: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);

  test('a SARIF 2.1.0 log the schema validates: rules NWR1-NWR5, a result per finding located at the logical id', () => {
    const file = write('sarif.template.json', JSON.stringify(missingGrants(), null, 2));
    const { code, out } = run('check', file, DOCS_TEMPLATE, '--format', 'sarif');
    expect(code).toBe(1);
    const log = JSON.parse(out);
    expect(validate(log)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
    const [sarifRun] = log.runs;
    expect(sarifRun.tool.driver.rules.map((r: any) => [r.id, r.defaultConfiguration.level])).toEqual([
      ['NWR1', 'error'],
      ['NWR2', 'warning'],
      ['NWR3', 'warning'],
      ['NWR4', 'warning'],
      ['NWR5', 'error'],
    ]);
    const lines = fs.readFileSync(file, 'utf-8').split('\n');
    const parentLine = lines.findIndex((l) => l.includes('"Parent": {')) + 1;
    expect(sarifRun.results.find((r: any) => r.ruleId === 'NWR1')).toEqual({
      ruleId: 'NWR1',
      ruleIndex: 0,
      level: 'error',
      message: { text: expect.stringMatching(/^Parent: The role Role does not allow: states:DescribeExecution/) },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: path.relative(process.cwd(), file).split(path.sep).join('/') },
            region: { startLine: parentLine },
          },
          logicalLocations: [{ name: 'Parent', kind: 'resource' }],
        },
      ],
    });
    // The first template (no env: its arn:aws literals are NWR3), then the AWS docs template.
    expect(sarifRun.results.map((r: any) => r.ruleId)).toEqual(['NWR3', 'NWR1', 'NWR4', 'NWR3', 'NWR2']);
  });
});

describe('cdk-nested-workflow-role check outside CDK and on cdk.out', () => {
  test('a YAML template with short-form tags (!Ref, !Sub, !GetAtt, !Join) is read as its long form', () => {
    const yaml = `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Child:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: Child
      StateMachineType: EXPRESS
      RoleArn: !GetAtt Role.Arn
      DefinitionString: '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}'
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      Policies:
        - PolicyName: P
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: states:StartExecution
                Resource: !Ref Child
              - Effect: Allow
                Action: [states:DescribeExecution, states:StopExecution]
                Resource: !Sub arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:Child:*
              - Effect: Allow
                Action: [events:PutTargets, events:PutRule, events:DescribeRule]
                Resource: !Sub arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule
  Parent:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt [Role, Arn]
      DefinitionString: !Join
        - ""
        - - '{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"'
          - !Join ["", [!Ref Child, ":7"]]
          - '"},"End":true}}}'
`;
    const file = write('parent.yaml', yaml);
    const exact = run('check', file, '--region', REGION, '--account', ACCOUNT, '--format', 'json');
    // Every call of the .sync child (an Express child gets the Standard .sync set) is allowed: no finding.
    expect(exact.code).toBe(0);
    expect(JSON.parse(exact.out).findings).toEqual([]);
    // Without the Describe/Stop statement, the !Sub-built execution ARN is named as missing.
    const lacking = yaml.replace(
      /              - Effect: Allow\n                Action: \[states:DescribeExecution, states:StopExecution\]\n.*\n/,
      '',
    );
    expect(lacking).not.toEqual(yaml);
    const { code, out } = run(
      'check',
      write('lacking.yaml', lacking),
      '--region',
      REGION,
      '--account',
      ACCOUNT,
      '--format',
      'json',
    );
    expect(code).toBe(1);
    expect(JSON.parse(out).findings).toEqual([
      expect.objectContaining({
        ruleId: 'NWR1',
        parent: 'Parent',
        message: expect.stringContaining(
          `states:DescribeExecution on arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:`,
        ),
      }),
    ]);
  });

  test('a cdk.out directory: every stack template with its environment, nested stacks included', () => {
    const outdir = path.join(dir, 'cdk.out');
    const app = new App({ outdir, context: { 'aws:cdk:disable-creation-stack-traces': true } });
    const stack = new Stack(app, 'Known', { env: { account: ACCOUNT, region: REGION } });
    const nested = new NestedStack(stack, 'Nested');
    for (const scope of [stack, nested]) {
      const role = new iam.Role(scope, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [CHILD] }));
      new sfn.StateMachine(scope, 'Parent', { role, definitionBody: sfn.DefinitionBody.fromString(SYNC(CHILD)) });
    }
    app.synth();
    const { code, out } = run('check', outdir, '--format', 'json');
    expect(code).toBe(1);
    const findings = JSON.parse(out).findings.map((f: any) => `${f.ruleId} ${path.basename(f.template)}`);
    // Known environment: NWR1 only (no NWR4 on the account), in the stack and in its nested stack.
    expect(findings).toEqual([
      'NWR1 Known.template.json',
      expect.stringMatching(/^NWR1 KnownNested.*\.nested\.template\.json$/),
    ]);
    // The summary counts the assembly's templates, not the one directory given.
    expect(JSON.parse(out)).toMatchObject({ templates: 2, parents: 2, errors: 2, warnings: 0 });
  });

  test('a cdk.out with a stage and an environment-agnostic stack: the stage read too, unknown environments left unknown', () => {
    const outdir = path.join(dir, 'staged.out');
    const app = new App({ outdir, context: { 'aws:cdk:disable-creation-stack-traces': true } });
    const stage = new Stage(app, 'Prod', { env: { account: ACCOUNT, region: REGION } });
    for (const stack of [new Stack(stage, 'InStage'), new Stack(app, 'Agnostic')]) {
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [CHILD] }));
      new sfn.StateMachine(stack, 'Parent', { role, definitionBody: sfn.DefinitionBody.fromString(SYNC(CHILD)) });
    }
    app.synth();
    const { code, out } = run('check', outdir, '--format', 'json');
    expect(code).toBe(1);
    const findings = JSON.parse(out).findings.map((f: any) => `${f.ruleId} ${path.basename(f.template)}`);
    // The agnostic stack: its arn:aws literals are NWR3 (partition unknown); the stage's stack knows its environment.
    expect(findings.sort()).toEqual([
      'NWR1 Agnostic.template.json',
      expect.stringMatching(/^NWR1 ProdInStage[0-9A-F]{8}\.template\.json$/),
      'NWR3 Agnostic.template.json',
    ]);
  });

  test('a SAM template before its transform: NWR4 on each AWS::Serverless::StateMachine, saying to check the processed template', () => {
    const yaml = `Transform: AWS::Serverless-2016-10-31
Resources:
  OrderPipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: parent.asl.json
      Policies:
        - StepFunctionsExecutionPolicy:
            StateMachineName: Child
`;
    const file = write('sam.yaml', yaml);
    const { code, out } = run('check', file, '--region', REGION, '--account', ACCOUNT, '--format', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(out).findings.map((f: any) => `${f.ruleId} ${f.parent}: ${f.message}`)).toEqual([
      expect.stringMatching(
        /^NWR4 OrderPipeline: OrderPipeline is an AWS::Serverless::StateMachine: .* --template-stage Processed --query TemplateBody\.$/,
      ),
    ]);
    expect(run('check', file, '--fail-on', 'warning').code).toBe(1);
  });

  test('a template without a parent (the wrong file): the summary says that no state machine was checked', () => {
    const file = write(
      'assets-only.template.json',
      JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket' } } }),
    );
    const { code, out } = run('check', file, DOCS_TEMPLATE);
    expect(code).toBe(0);
    expect(out.trim().split('\n').pop()).toMatch(/^0 errors, \d+ warnings? in 2 templates, 1 state machine checked$/);
    const alone = run('check', file);
    expect(alone.out).toBe(
      '0 errors, 0 warnings in 1 template, 0 state machines checked: none starts a child state machine or runs a Distributed Map\n',
    );
  });

  test('a YAML file that is not valid YAML either: exit 2, with the YAML error', () => {
    const file = write('broken.yaml', 'Resources:\n  X: [unclosed\n');
    const { code, err } = run('check', file);
    expect(code).toBe(2);
    expect(err).toContain(`${file} is neither JSON nor YAML`);
  });

  test('a directory without manifest.json: exit 2, saying what to give', () => {
    const { code, err } = run('check', dir);
    expect(code).toBe(2);
    expect(err).toContain('is a directory but not a cloud assembly');
  });

  test('without --account: NWR4 says to pass --account, once per task, not once per action', () => {
    const template = missingGrants();
    (template as any).Resources.Parent.Properties.DefinitionString = {
      'Fn::Sub': SYNC('arn:aws:states:us-east-1:${AWS::AccountId}:stateMachine:Child'),
    };
    const file = write('unknown-account.template.json', JSON.stringify(template));
    const { out } = run('check', file, '--region', REGION, '--format', 'json');
    const nwr4 = JSON.parse(out).findings.filter((f: any) => f.ruleId === 'NWR4');
    expect(nwr4).toHaveLength(1);
    expect(nwr4[0].message).toContain('pass --account, --region (and --partition) to `check`');
  });
});

describe('cdk-nested-workflow-role policy speaks CLI', () => {
  test('a plain definition prints nothing on stderr (no roleNotUsed)', () => {
    const file = write('plain.asl.json', SYNC(CHILD));
    const { code, err } = policy(file);
    expect(code).toBe(0);
    expect(err).toBe('');
  });

  test('--substitution __proto__=ARN is a substitution like any other', () => {
    const file = write('proto.asl.json', SYNC('${__proto__}'));
    const { code, out } = policy(file, '--substitution', `__proto__=${CHILD}`);
    expect(code).toBe(0);
    expect(JSON.parse(out).IdentityPolicy.Statement[0]).toEqual({
      Action: 'states:StartExecution',
      Effect: 'Allow',
      Resource: CHILD,
    });
  });
});

const ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };

/** The probes that fail on the identity policies `documents` (and `trust`), in the parent's environment. */
const failedProbes = (documents: object[], probes: ProbeCase[], trust?: object) =>
  simulatedFailures(
    { identityPolicies: documents, trustPolicy: trust, policyResourceCount: documents.length },
    probes,
    ENV,
  );

/** The CDK words a command-line message must not hold: props, methods and construct paths. */
const CDK_WORDS =
  /`(definitionBody|runtimeChildren|parentStateMachineName|child)`|addChild|Parent\/ParentRole|Annotations|grantInvoke|Validation failed/;

describe('cdk-nested-workflow-role policy: a definition whose only nested workflows are Distributed Maps', () => {
  const MAP_ONLY = fs.readFileSync(path.join(__dirname, 'definitions', 'map-runs-only.asl.json'), 'utf-8');
  const args = (file: string) => ['policy', file, '--region', REGION, '--account', ACCOUNT, '--parent-name', 'Orders'];

  test('prints its Map Run policy and the trust policy, nothing on stderr; the simulator finds the Map Run policy exact', async () => {
    const { code, out, err } = run(...args(write('map-only.asl.json', MAP_ONLY)));
    expect({ code, err }).toEqual({ code: 0, err: '' });
    const printed = JSON.parse(out);
    expect(Object.keys(printed)).toEqual(['MapRunPolicy', 'TrustPolicy']);
    const events = (action: string): ProbeCase => ({
      label: `events:${action} on the managed rule (no .sync child)`,
      action: `events:${action}`,
      resource: `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
      expect: 'Denied',
      needed: false,
    });
    const probes = [
      ...mapRunProbesFor({ ...ENV, name: 'Orders', labels: ['Orders'] }),
      events('PutTargets'),
      events('PutRule'),
    ];
    expect(await failedProbes([printed.MapRunPolicy], probes, printed.TrustPolicy)).toEqual([]);
    expect(probes.filter((p) => p.expect === 'Allowed').length).toBeGreaterThanOrEqual(4);
  });

  test('--document map-run prints that policy; --document identity exits 2 and says there is none and to pass --document map-run', () => {
    const file = write('map-only-documents.asl.json', MAP_ONLY);
    const all = JSON.parse(run(...args(file)).out);
    const mapRun = run(...args(file), '--document', 'map-run');
    expect(mapRun.code).toBe(0);
    expect(JSON.parse(mapRun.out)).toEqual(all.MapRunPolicy);
    const identity = run(...args(file), '--document', 'identity');
    expect(identity.code).toBe(2);
    expect(identity.out).toBe('');
    expect(identity.err).toBe(
      "Error: `--document identity`: the definition starts no child state machine, so there is no identity policy; its Distributed Maps' grants are the Map Run policy: pass --document map-run.\n",
    );
  });

  test('a definition with neither a child nor a Distributed Map: exit 2, saying so in the words of the command line', () => {
    const file = write(
      'pass-only.asl.json',
      JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }),
    );
    const { code, err } = policy(file);
    expect(code).toBe(2);
    expect(err).toMatch(
      /^Error: the definition starts no child state machine \(no task arn:<partition>:states:::states:startExecution\[[^\]]*\] or aws-sdk:sfn:startSyncExecution\) and has no Distributed Map: it needs no nested workflow grants\.\n$/,
    );
  });
});

describe("cdk-nested-workflow-role policy: the construct's messages in the words of the command line", () => {
  /** A definition of one Task state, `name`, with `fields`. */
  const oneTask = (name: string, fields: object) =>
    JSON.stringify({ StartAt: name, States: { [name]: { Type: 'Task', End: true, ...fields } } });
  const RUNTIME = oneTask('Pick', {
    Resource: 'arn:aws:states:::states:startExecution',
    Parameters: { 'StateMachineArn.$': '$.child' },
  });

  test('a child chosen at run time: says to pass --runtime-child, naming the state', () => {
    const { code, err } = policy(write('runtime.asl.json', RUNTIME));
    expect(code).toBe(2);
    expect(err).toContain("--runtime-child 'Pick=<child ARN>' (once per child)");
    expect(err).not.toMatch(CDK_WORDS);
  });

  test('--runtime-child State=ARN, repeated: exactly those children, which the simulator allows and no other', async () => {
    const file = write('runtime-given.asl.json', RUNTIME);
    const { code, out, err } = policy(
      file,
      '--runtime-child',
      `Pick=${stateMachineArn('Left')}`,
      '--runtime-child',
      `Pick=${stateMachineArn('Right')}`,
      '--document',
      'identity',
    );
    expect({ code, err }).toEqual({ code: 0, err: '' });
    const start = (name: string, expect: 'Allowed' | 'Denied'): ProbeCase => ({
      label: `StartExecution on ${name}`,
      action: 'states:StartExecution',
      resource: stateMachineArn(name),
      expect,
      needed: expect === 'Allowed',
    });
    const probes = [
      start('Left', 'Allowed'),
      start('Right', 'Allowed'),
      start('LeftAdmin', 'Denied'),
      start('Other', 'Denied'),
    ];
    expect(await failedProbes([JSON.parse(out)], probes)).toEqual([]);
  });

  test.each([
    [
      'a state the definition does not have',
      ['--runtime-child', `Typo=${stateMachineArn('Left')}`],
      "`--runtime-child` has no entry for 'Pick': it names 'Typo'",
    ],
    ['no ARN', ['--runtime-child', 'Pick='], '`--runtime-child` must be State=ARN'],
    ['no state', ['--runtime-child', `=${stateMachineArn('Left')}`], '`--runtime-child` must be State=ARN'],
    [
      "an ARN that is not a state machine's",
      ['--runtime-child', `Pick=arn:aws:sns:${REGION}:${ACCOUNT}:Topic`],
      "the StateMachineArn of state 'Pick' must be a state machine ARN",
    ],
  ])('--runtime-child with %s: exit 2, naming the option', (_what, extra, message) => {
    const { code, err } = policy(write('runtime-bad.asl.json', RUNTIME), ...extra);
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(err).not.toMatch(CDK_WORDS);
  });

  test('a definition file that is not JSON: names the file, not a prop or construct', () => {
    const file = write('broken.asl.json', '{ "StartAt": ');
    const { code, err } = policy(file);
    expect(code).toBe(2);
    expect(err).toMatch(
      new RegExp(`^Error: the definition file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`),
    );
    expect(err).not.toMatch(CDK_WORDS);
  });

  test('a --parent-name that sts:ExternalId refuses, with a cross-account .sync child through Credentials: names --parent-name', () => {
    const definition = oneTask('Run', {
      Resource: 'arn:aws:states:::states:startExecution.sync:2',
      Credentials: { RoleArn: 'arn:aws:iam::222222222222:role/Target' },
      Parameters: { StateMachineArn: `arn:aws:states:${REGION}:222222222222:stateMachine:Child` },
    });
    const file = write('credentials.asl.json', definition);
    const { code, err } = policy(file, '--parent-name', 'Order(v2)');
    expect(code).toBe(2);
    expect(err).toMatch(/^Error: `--parent-name` Order\(v2\) holds U\+0028/);
    expect(err).not.toMatch(CDK_WORDS);
  });

  test.each(['express', 'EXPRESS'])(
    '--parent-type %s: a .sync task is refused as in an Express parent, naming the option; a request-response one is granted',
    (type) => {
      const sync = policy(write('express-sync.asl.json', SYNC(CHILD)), '--parent-type', type);
      expect(sync.code).toBe(2);
      expect(sync.err).toMatch(
        /^Error: `--parent-type` is express, but state 'Run' \(arn:aws:states:::states:startExecution.sync:2\) waits for a job or a callback/,
      );
      expect(sync.err).not.toMatch(CDK_WORDS);
      const request = SYNC(CHILD).replace('startExecution.sync:2', 'startExecution');
      const ok = policy(write('express-request.asl.json', request), '--parent-type', type, '--document', 'identity');
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.out).Statement).toEqual([
        { Action: 'states:StartExecution', Effect: 'Allow', Resource: CHILD },
      ]);
    },
  );

  test('--parent-type with another value: exit 2, naming the values', () => {
    const { code, err } = policy(write('typed.asl.json', SYNC(CHILD)), '--parent-type', 'fast');
    expect(code).toBe(2);
    expect(err).toBe('Error: `--parent-type` must be standard or express, got: fast\n');
  });

  test('tasks the policy does not grant: one warning that says to add their grants, without CDK methods', () => {
    const definition = JSON.stringify({
      StartAt: 'Notify',
      States: {
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Notify` },
          Next: 'Run',
        },
        Run: JSON.parse(SYNC(CHILD)).States.Run,
      },
    });
    const { code, err } = policy(write('mixed.asl.json', definition));
    expect(code).toBe(0);
    expect(err).toBe(
      "warning: the policy grants only nested workflows; these tasks of the definition need grants of their own, which you add to the role: 'Notify' (arn:aws:states:::lambda:invoke).\n",
    );
  });
});
