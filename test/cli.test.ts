import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../lib/cli';
import { addMixedParents, cleanUp, newCheckedApp, runChecks } from './util/checks';
import { ACCOUNT, PARTITION, REGION, stateMachineArn } from './util/fixtures';
import { ChildScenario, probesFor } from './util/probes';
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

  test('policy on test/definitions/parent.asl.json: a child in another account without Credentials fails like the construct, exit 1', () => {
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
    expect(result.status).toBe(1);
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
      expect(lines[lines.length - 1]).toBe('1 error, 1 warning in 1 template');
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
    expect(result.stdout.trim().split('\n').pop()).toBe('0 errors, 5 warnings in 1 template');
  });
});

describe('cdk-nested-workflow-role (help and errors)', () => {
  test.each([
    [['--help'], 'Commands:'],
    [['policy', '--help'], '--substitution Name=Value'],
    [['check', '--help'], 'NWR1 missing (error)'],
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
      '`--document` must be identity or trust, got: both',
    ],
    [
      ['policy', README_FILE, '--region', REGION, '--account', ACCOUNT, '--substitution', 'NoEquals'],
      '`--substitution` must be Name=Value, got: NoEquals',
    ],
    [
      ['policy', README_FILE, '--region', REGION, '--account', ACCOUNT],
      'uses ${OrderChildArn} in its Parameters.StateMachineArn, but `definitionSubstitutions` has no `OrderChildArn`',
    ],
    [['check'], 'check takes at least one template file'],
    [['check', 'missing.template.json'], 'cannot read the template missing.template.json'],
  ])('%j fails with exit 1', (args, message) => {
    const { code, err } = run(...args);
    expect(code).toBe(1);
    expect(err).toContain(message);
  });
});

describe('cdk-nested-workflow-role policy (in this process)', () => {
  test('prints the identity and trust policies; a partition given for a region it knows is accepted', () => {
    const { code, out, err } = run(...README_ARGS, '--partition', 'aws');
    expect(code).toBe(0);
    expect(err).toContain('tasksNotGranted');
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
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain(`the StateMachineArn of state 'Process order' must be a state machine ARN`);
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
    expect(out.trim().split('\n').pop()).toBe('0 errors, 1 warning in 1 template');
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
    expect(out.trim().split('\n').pop()).toBe('0 errors, 2 warnings in 2 templates');
  });
});
