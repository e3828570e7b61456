import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../lib/cli';
import { addMixedParents, cleanUp, newCheckedApp, runChecks } from './util/checks';
import { ACCOUNT, PARTITION, REGION, stateMachineArn } from './util/fixtures';
import { ChildScenario, mapRunProbesFor, probesFor } from './util/probes';
import { simulate, simulateTrust } from './util/simulator';

const ROOT = path.join(__dirname, '..');
const ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };
const README_FILE = path.join(__dirname, 'definitions', 'order-pipeline.asl.json');
const DOCS_TEMPLATE = path.join(__dirname, 'templates', 'aws-docs-parent.template.json');

/** Runs the command line as a process: the compiled bin when the build produced it, else its TypeScript source. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const compiled = path.join(ROOT, 'lib', 'cli.js');
  const source = path.join(ROOT, 'lib', 'cli.ts');
  const fresh = fs.existsSync(compiled) && fs.statSync(compiled).mtimeMs >= fs.statSync(source).mtimeMs;
  const command = fresh ? [compiled] : ['-r', 'ts-node/register/transpile-only', source];
  const result = spawnSync(process.execPath, [...command, ...args], {
    cwd: ROOT,
    encoding: 'utf-8',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `main` in this process, for help and errors. */
function run(...args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

// The README's command for its order pipeline.
const README_ARGS = [
  'policy',
  README_FILE,
  '--region',
  REGION,
  '--account',
  ACCOUNT,
  '--substitution',
  `OrderChildArn=${stateMachineArn('OrderChild')}`,
  '--substitution',
  `ShippingChildArn=${stateMachineArn('ShippingChild')}`,
  '--substitution',
  `NotifyFunctionArn=arn:aws:lambda:${REGION}:${ACCOUNT}:function:Notify`,
];

// test/definitions/distributed-map.asl.json: a Distributed Map (Label Orders) and two children.
const MAP_ARGS = [
  'policy',
  path.join(__dirname, 'definitions', 'distributed-map.asl.json'),
  '--region',
  REGION,
  '--account',
  ACCOUNT,
  '--substitution',
  `ReportChildArn=${stateMachineArn('ReportChild')}`,
  '--substitution',
  `ItemChildArn=${stateMachineArn('ItemChild')}`,
  '--substitution',
  'Bucket=orders-bucket',
];

describe('cdk-nested-workflow-role (the command line, as a process)', () => {
  jest.setTimeout(60_000);

  test("the README's example file is the README's definition", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf-8');
    const section = readme.slice(readme.indexOf('## From a definition file'));
    const block = section.slice(section.indexOf('```json') + 7, section.indexOf('```', section.indexOf('```json') + 7));
    expect(JSON.parse(block)).toEqual(JSON.parse(fs.readFileSync(README_FILE, 'utf-8')));
  });

  test("policy on the README's parent.asl.json prints a policy the simulator finds exact, and a trust policy for Step Functions of the account", async () => {
    const result = cli(...README_ARGS);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("'Notify' (arn:aws:states:::lambda:invoke)");
    const { IdentityPolicy, TrustPolicy } = JSON.parse(result.stdout);
    const policies = { identityPolicies: [IdentityPolicy], trustPolicy: TrustPolicy, policyResourceCount: 1 };
    const children: ChildScenario[] = [
      { ...ENV, name: 'OrderChild', pattern: 'RUN_JOB' },
      { ...ENV, name: 'ShippingChild', pattern: 'WAIT_FOR_TASK_TOKEN' },
    ];
    const probes = children.flatMap((c) =>
      probesFor(c, ENV).filter((p) => !p.action.startsWith('events:') || c.pattern === 'RUN_JOB'),
    );
    const failures: string[] = [];
    for (const probe of probes) {
      const decision = (await simulate(policies, probe, ENV)) === 'Allowed' ? 'Allowed' : 'Denied';
      if (decision !== probe.expect) failures.push(`${probe.label}: expected ${probe.expect}, got ${decision}`);
    }
    expect(failures).toEqual([]);
    expect(probes.length).toBeGreaterThan(40);
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/Parent`;
    const trust = (account: string) =>
      simulateTrust(policies, roleArn, {
        servicePrincipal: 'states.amazonaws.com',
        context: { 'aws:SourceAccount': account, 'aws:SourceArn': stateMachineArn('Parent', { account }) },
      });
    expect(await trust(ACCOUNT)).toBe('Allowed');
    expect(await trust('999999999999')).not.toBe('Allowed');
    expect(JSON.stringify(IdentityPolicy)).not.toContain('"*"');
  });

  test('policy --document prints one document; --parent-name trusts only that state machine', () => {
    const identity = cli(...README_ARGS, '--document', 'identity');
    expect(identity.status).toBe(0);
    expect(JSON.parse(identity.stdout).Statement.map((s: any) => s.Action)).toEqual([
      'states:StartExecution',
      ['states:DescribeExecution', 'states:StopExecution'],
      ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
    ]);
    const trust = cli(...README_ARGS, '--document', 'trust', '--parent-name', 'OrderPipeline');
    expect(JSON.parse(trust.stdout).Statement[0].Condition.ArnLike).toEqual({
      'aws:SourceArn': [stateMachineArn('OrderPipeline'), `${stateMachineArn('OrderPipeline')}:*`],
    });
  });

  test('policy on test/definitions/distributed-map.asl.json with --parent-name prints the Map Run policy too, which the simulator finds exact', async () => {
    const result = cli(...MAP_ARGS, '--parent-name', 'OrderPipeline');
    expect(result.status).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(Object.keys(printed)).toEqual(['IdentityPolicy', 'MapRunPolicy', 'TrustPolicy']);
    const execution = (rest: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${rest}`;
    expect(printed.MapRunPolicy.Statement).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: stateMachineArn('OrderPipeline') },
      {
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Effect: 'Allow',
        Resource: execution('OrderPipeline:*'),
      },
      { Action: 'states:RedriveExecution', Effect: 'Allow', Resource: execution('OrderPipeline/Orders:*') },
    ]);
    const policies = {
      identityPolicies: [printed.IdentityPolicy, printed.MapRunPolicy],
      trustPolicy: printed.TrustPolicy,
      policyResourceCount: 2,
    };
    const probes = [
      ...mapRunProbesFor({ ...ENV, name: 'OrderPipeline', labels: ['Orders'] }),
      ...probesFor({ ...ENV, name: 'ReportChild', pattern: 'RUN_JOB' }, ENV),
    ];
    const failures: string[] = [];
    for (const probe of probes) {
      const decision = (await simulate(policies, probe, ENV)) === 'Allowed' ? 'Allowed' : 'Denied';
      if (decision !== probe.expect) failures.push(`${probe.label}: expected ${probe.expect}, got ${decision}`);
    }
    expect(failures).toEqual([]);
    expect(probes.length).toBeGreaterThan(30);
  });

  test("the README's Map Run policy is what policy --document map-run prints", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf-8');
    const section = readme.slice(readme.indexOf('--parent-name OrderPipeline --document map-run`'));
    const block = section.slice(section.indexOf('```json') + 7, section.indexOf('```', section.indexOf('```json') + 7));
    const result = cli(...MAP_ARGS, '--parent-name', 'OrderPipeline', '--document', 'map-run');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(block));
  });

  test('policy on test/definitions/distributed-map.asl.json without --parent-name: says to pass it, exit 2', () => {
    const result = cli(...MAP_ARGS);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      "Error: `--parent-name` is required: Distributed Map 'Process orders' runs child workflow executions of the parent state machine itself, " +
        "so the policy grants states:StartExecution on the parent's own ARN. Pass the parent state machine's name: --parent-name NAME.\n",
    );
    expect(result.stdout).toBe('');
  });

  test('policy on test/definitions/parent.asl.json: a child in another account without Credentials fails like the construct, exit 2', () => {
    const result = cli(
      'policy',
      path.join(__dirname, 'definitions', 'parent.asl.json'),
      '--region',
      REGION,
      '--account',
      ACCOUNT,
      '--substitution',
      `SyncChildArn=${stateMachineArn('SyncChild', { account: '222222222222' })}`,
      '--substitution',
      `RequestChildArn=${stateMachineArn('RequestChild')}`,
      '--substitution',
      `CallbackChildArn=${stateMachineArn('CallbackChild')}`,
      '--substitution',
      `JsonataChildArn=${stateMachineArn('JsonataChild')}`,
      '--substitution',
      'NotifyFunctionArn=arn:aws:lambda:us-east-1:111111111111:function:Notify',
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      `is in account 222222222222, but the parent's stack is in account ${ACCOUNT}. Starting a child in another account needs a role in that account`,
    );
    expect(result.stdout).toBe('');
  });

  test('check on the templates of the mixed app agrees with the plugin, prints a summary line and exits with 1', () => {
    const app = newCheckedApp();
    addMixedParents(app);
    const plugin = runChecks(app);
    try {
      const result = cli(
        'check',
        path.join(plugin.outdir, 'Stack.template.json'),
        '--region',
        REGION,
        '--account',
        ACCOUNT,
      );
      expect(result.status).toBe(1);
      const lines = result.stdout.trim().split('\n');
      expect(lines[lines.length - 1]).toBe('1 error, 1 warning in 1 template, 3 state machines checked');
      const fromCli = lines
        .filter((l) => /^(ERROR|WARNING) NWR\d /.test(l))
        .map((l) => l.split(' ').slice(1, 2).concat(l.split(' ')[3].replace(/:$/, '')).join(' '))
        .sort();
      const fromPlugin = plugin.violations
        .map((v) => `${v.ruleName} ${v.violatingConstructs[0].constructPath}`)
        .map((s) =>
          s.replace('Stack/TaskParent/Resource', 'TaskParent').replace('Stack/HandWrittenParent', 'HandWrittenParent'),
        )
        .sort();
      expect(fromCli).toEqual(['NWR1 HandWrittenParent', expect.stringMatching(/^NWR2 TaskParent[0-9A-F]{8}$/)]);
      expect(fromPlugin).toEqual(['NWR1 HandWrittenParent', 'NWR2 TaskParent']);
    } finally {
      cleanUp(plugin);
    }
  });

  test('check on the AWS docs template without an environment: warnings only, exit 0', () => {
    const result = cli('check', DOCS_TEMPLATE);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('WARNING NWR2');
    expect(result.stdout).toContain('WARNING NWR3');
    expect(result.stdout.trim().split('\n').pop()).toBe('0 errors, 3 warnings in 1 template, 1 state machine checked');
  });
});

describe('cdk-nested-workflow-role (help and errors)', () => {
  test.each([
    [['--help'], 'Commands:'],
    [['policy', '--help'], '--substitution Name=Value'],
    [['check', '--help'], 'NWR1 missing, NWR5 cannot run (errors)'],
  ])('%j prints its help', (args, text) => {
    const { code, out } = run(...args);
    expect(code).toBe(0);
    expect(out).toContain(text);
  });

  test.each([
    [[], 'Usage: cdk-nested-workflow-role <command>'],
    [['lint'], "Unknown command 'lint'"],
    [['policy'], 'policy takes one definition file, got: none'],
    [['policy', README_FILE], '`--region` and `--account` are required'],
    [
      ['policy', README_FILE, '--region', REGION, '--account', '1234'],
      '`--account` must be a 12-digit account id, got: 1234',
    ],
    [
      ['policy', README_FILE, '--region', REGION, '--account', ACCOUNT, '--partition', 'aws-cn'],
      '`--partition` must be the partition of region us-east-1 (aws), got: aws-cn',
    ],
    [
      ['policy', README_FILE, '--region', 'xx-moon-1', '--account', ACCOUNT],
      '`--partition` is required for region xx-moon-1',
    ],
    [
      ['policy', README_FILE, '--region', REGION, '--account', ACCOUNT, '--document', 'both'],
      '`--document` must be identity, map-run or trust, got: both',
    ],
    [
      ['policy', README_FILE, '--region', REGION, '--account', ACCOUNT, '--substitution', 'NoEquals'],
      '`--substitution` must be Name=Value, got: NoEquals',
    ],
    [
      ['policy', README_FILE, '--region', REGION, '--account', ACCOUNT],
      "State 'Process order' uses ${OrderChildArn} in its Parameters.StateMachineArn, but no value is given for it: pass --substitution OrderChildArn=ARN.",
    ],
    [
      [
        'policy',
        README_FILE,
        '--region',
        REGION,
        '--account',
        ACCOUNT,
        '--document',
        'map-run',
        ...README_ARGS.slice(6),
      ],
      '`--document map-run`: the definition has no Distributed Map, so there is no Map Run policy.',
    ],
    [
      MAP_ARGS,
      "`--parent-name` is required: Distributed Map 'Process orders' runs child workflow executions of the parent state machine itself",
    ],
    [['check'], 'check takes at least one template file'],
    [['check', 'missing.template.json'], 'cannot read the template missing.template.json'],
  ])('%j fails with exit 2 (usage or input)', (args, message) => {
    const { code, err } = run(...args);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });
});

describe('cdk-nested-workflow-role policy (in this process)', () => {
  test('prints the identity and trust policies; a partition given for a region it knows is accepted', () => {
    const { code, out, err } = run(...README_ARGS, '--partition', 'aws');
    expect(code).toBe(0);
    expect(err).toContain(
      "these tasks of the definition need grants of their own, which you add to the role: 'Notify'",
    );
    const printed = JSON.parse(out);
    expect(Object.keys(printed)).toEqual(['IdentityPolicy', 'TrustPolicy']);
    expect(printed.IdentityPolicy.Statement[0]).toEqual({
      Action: 'states:StartExecution',
      Effect: 'Allow',
      Resource: [stateMachineArn('OrderChild'), stateMachineArn('ShippingChild')],
    });
  });

  test("a child that is not a state machine fails with the construct's message", () => {
    const activity = `arn:aws:states:${REGION}:${ACCOUNT}:activity:Worker`;
    const args = README_ARGS.map((a) =>
      a.replace(`OrderChildArn=${stateMachineArn('OrderChild')}`, `OrderChildArn=${activity}`),
    );
    const { code, out, err } = run(...args);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(`the StateMachineArn of state 'Process order' must be a state machine ARN`);
  });
});

describe('cdk-nested-workflow-role policy --document with a Distributed Map (in this process)', () => {
  test('map-run prints the Map Run policy alone; identity prints the nested workflow grants and warns that the Map Run grants are apart', () => {
    const mapRun = run(...MAP_ARGS, '--parent-name', 'OrderPipeline', '--document', 'map-run');
    expect(mapRun.code).toBe(0);
    expect(JSON.parse(mapRun.out).Statement.map((s: any) => s.Action)).toEqual([
      'states:StartExecution',
      ['states:DescribeExecution', 'states:StopExecution'],
      'states:RedriveExecution',
    ]);
    const identity = run(...MAP_ARGS, '--parent-name', 'OrderPipeline', '--document', 'identity');
    expect(identity.code).toBe(0);
    expect(JSON.stringify(JSON.parse(identity.out))).not.toContain('OrderPipeline');
    expect(identity.err).toContain(
      'warning: the Map Run grants of the Distributed Maps are a separate document: print it with --document map-run and attach it to the role too.',
    );
  });
});

describe('cdk-nested-workflow-role policy with many children (in this process)', () => {
  test('grants that do not fit one policy are printed as IdentityPolicy and ManagedPolicies, with a warning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwr-cli-'));
    try {
      const names = Array.from({ length: 80 }, (_, i) => `ChildWithAFairlyLongStateMachineName${i}`);
      const states: { [name: string]: object } = {};
      names.forEach((name, i) => {
        states[name] = {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync',
          Parameters: { StateMachineArn: stateMachineArn(name) },
          ...(i < names.length - 1 ? { Next: names[i + 1] } : { End: true }),
        };
      });
      const file = path.join(dir, 'many.asl.json');
      fs.writeFileSync(file, JSON.stringify({ StartAt: names[0], States: states }));
      const { code, out, err } = run('policy', file, '--region', REGION, '--account', ACCOUNT);
      expect(code).toBe(0);
      const printed = JSON.parse(out);
      expect(Object.keys(printed)).toEqual(['IdentityPolicy', 'ManagedPolicies', 'TrustPolicy']);
      expect(err).toContain(
        `warning: the grants do not fit one policy (IAM quotas): ${1 + printed.ManagedPolicies.length} documents`,
      );
      const resources = [printed.IdentityPolicy, ...printed.ManagedPolicies].flatMap((d: any) =>
        d.Statement.flatMap((st: any) => [st.Resource].flat()),
      );
      expect(resources.filter((r: string) => r.includes(':stateMachine:')).length).toBe(80);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cdk-nested-workflow-role check (in this process)', () => {
  test('the AWS docs template in the aws partition: one too broad warning, exit 0', () => {
    const { code, out } = run('check', DOCS_TEMPLATE, '--region', REGION, '--account', ACCOUNT);
    expect(code).toBe(0);
    expect(out).toMatch(
      /^WARNING NWR2 .*aws-docs-parent\.template\.json Parent: Statement 1 of ParentRole\.Policies\[0\] \(NestedWorkflow\)/,
    );
    expect(out).toContain('  fix: Scope the statement to the child');
    expect(out.trim().split('\n').pop()).toBe('0 errors, 1 warning in 1 template, 1 state machine checked');
  });

  test('two templates: the summary counts both', () => {
    const { out } = run(
      'check',
      DOCS_TEMPLATE,
      DOCS_TEMPLATE,
      '--partition',
      'aws',
      '--region',
      REGION,
      '--account',
      ACCOUNT,
    );
    expect(out.trim().split('\n').pop()).toBe('0 errors, 2 warnings in 2 templates, 2 state machines checked');
  });
});

describe('cdk-nested-workflow-role check on Distributed Maps and Express parents (in this process)', () => {
  test('a Distributed Map parent without Map Run grants (NWR1) and an Express parent with a .sync task (NWR5): errors, exit 1', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwr-cli-'));
    try {
      const role = {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {},
          Policies: [
            {
              PolicyName: 'P',
              PolicyDocument: {
                Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: stateMachineArn('Child') }],
              },
            },
          ],
        },
      };
      const task = (resource: string) => ({
        Type: 'Task',
        Resource: `arn:aws:states:::states:${resource}`,
        Parameters: { StateMachineArn: stateMachineArn('Child') },
        End: true,
      });
      const template = {
        Resources: {
          Role: role,
          MapParent: {
            Type: 'AWS::StepFunctions::StateMachine',
            Properties: {
              StateMachineName: 'MapParent',
              RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
              DefinitionString: JSON.stringify({
                StartAt: 'Map',
                States: {
                  Map: {
                    Type: 'Map',
                    Label: 'Items',
                    ItemProcessor: {
                      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
                      StartAt: 'Start',
                      States: { Start: task('startExecution') },
                    },
                    End: true,
                  },
                },
              }),
            },
          },
          ExpressParent: {
            Type: 'AWS::StepFunctions::StateMachine',
            Properties: {
              StateMachineType: 'EXPRESS',
              RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
              DefinitionString: JSON.stringify({
                StartAt: 'Run',
                States: { Run: task('startExecution.waitForTaskToken') },
              }),
            },
          },
        },
      };
      const file = path.join(dir, 'map.template.json');
      fs.writeFileSync(file, JSON.stringify(template));
      const { code, out } = run('check', file, '--region', REGION, '--account', ACCOUNT);
      expect(code).toBe(1);
      const lines = out.trim().split('\n');
      expect(lines.filter((l) => /^(ERROR|WARNING) /.test(l))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ERROR NWR1 ${file} MapParent: The role Role does not allow: states:StartExecution on ${stateMachineArn('MapParent')} \\(state 'Map'\\);`,
          ),
        ),
        `ERROR NWR5 ${file} ExpressParent: The definition cannot run: the parent's StateMachineType is EXPRESS, but state 'Run' (arn:aws:states:::states:startExecution.waitForTaskToken) waits for a job or a callback, ` +
          'and Express workflows support only request-response integrations. Use the request-response resource (without .sync or .waitForTaskToken) or arn:<partition>:states:::aws-sdk:sfn:startSyncExecution for an Express child, or make the parent a STANDARD state machine.',
      ]);
      expect(lines.pop()).toBe('2 errors, 0 warnings in 1 template, 2 state machines checked');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
