/**
 * `npm run bench`: builds parents of N = 1, 10, 100, 300 and 500 synchronous children with `NestedWorkflowRole` and
 * with aws-cdk-lib's `StepFunctionsStartExecution`, in one process, and reports per N the size of the role's policies
 * (against the floor of the ARNs they must name), the policy resources, IAM's quotas and synthesis time. Prints the
 * report and writes it to docs/benchmarks.md.
 *
 * `BENCH_RUNS` sets the timed runs per side and N (default 5; five times as many below N=100, where a run takes a few
 * milliseconds and one pause of the machine would move the median).
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import {
  BENCH_SIDES,
  BenchSide,
  buildParent,
  childNames,
  floor,
  Floor,
  IAM_QUOTAS,
  measurePolicies,
  median,
  ratio,
  SideMeasure,
  synthesize,
} from '../test/util/benchmark';
import { CheckTiming, timeCheck } from '../test/util/check-benchmark';

const COUNTS = [1, 10, 100, 300, 500];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const runsFor = (count: number) => (count < 100 ? 5 * RUNS : RUNS);
/** The N at which synthesis time is held against aws-cdk-lib's (issue 5). */
const TARGET_COUNT = 300;
/** Policy characters within this factor of the floor (issue 5). */
const FLOOR_TARGET = 1.05;
const OUTPUT = join(__dirname, '..', 'docs', 'benchmarks.md');

interface CountResult {
  readonly count: number;
  readonly floor: Floor;
  readonly sides: { readonly [side in BenchSide]: SideMeasure };
}

/**
 * Measures every side at `count`: one untimed run per side first (module loading, JIT; its template is the one
 * measured), then `runsFor(count)` timed runs, the sides interleaved and their order rotated from run to run so that
 * neither a burst of load on the machine nor the garbage of the previous side falls on one side only.
 */
function measureCount(count: number): CountResult {
  const policies = new Map(
    BENCH_SIDES.map((side) => [side, measurePolicies(synthesize(() => buildParent(side, count)))] as const),
  );
  const timings = new Map(BENCH_SIDES.map((side) => [side, [] as number[]]));
  for (let run = 0; run < runsFor(count); run++) {
    for (let k = 0; k < BENCH_SIDES.length; k++) {
      const side = BENCH_SIDES[(run + k) % BENCH_SIDES.length];
      timings.get(side)!.push(synthesize(() => buildParent(side, count)).milliseconds);
    }
  }
  const sides = Object.fromEntries(
    BENCH_SIDES.map((side) => [side, { side, count, ...policies.get(side)!, milliseconds: timings.get(side)! }]),
  ) as { [side in BenchSide]: SideMeasure };
  if (sides.nestedWorkflowRoleParent.characters !== sides.nestedWorkflowRole.characters) {
    throw new Error(`N=${count}: the parent state machine changed the role's policies`);
  }
  return { count, floor: floor(childNames(count)), sides };
}

// -----------------------------------------------------------------------------------------------
// Formatting
// -----------------------------------------------------------------------------------------------

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number | undefined, digits: number) => (n === undefined ? 'n/a' : n.toFixed(digits));
const ms = (values: readonly number[]) =>
  `${fixed(median(values), 1)} (${fixed(Math.min(...values), 1)}–${fixed(Math.max(...values), 1)})`;

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

function policyResources(m: SideMeasure): string {
  const managed = m.quotas.managedCharacters.length;
  return `${m.policyResources} (${m.policyResources - managed} + ${managed})`;
}

function largest(m: SideMeasure): string {
  const managed = m.quotas.managedCharacters;
  return `${int(m.quotas.inlineCharacters)} / ${managed.length === 0 ? '-' : int(Math.max(...managed))}`;
}

function deployable(m: SideMeasure): string {
  if (m.quotas.deployable) return 'yes';
  return `no: ${m.quotas.problems.join('; ')}`;
}

/** One table per N: a row per figure, a column per side, and the ratios of this library to aws-cdk-lib. */
function countSection(result: CountResult): string[] {
  const {
    nestedWorkflowRole: ours,
    nestedWorkflowRoleParent: oursParent,
    awsCdkLib,
    awsCdkLibMinimized,
  } = result.sides;
  const { characters: arnFloor, charactersQuoted: quotedFloor } = result.floor;
  const theirs = [awsCdkLib, awsCdkLibMinimized];
  const numeric = (label: string, value: (m: SideMeasure) => number, format: (n: number) => string = int) => [
    label,
    format(value(ours)),
    ...theirs.flatMap((m) => [format(value(m)), fixed(ratio(value(ours), value(m)), 2)]),
  ];
  const text = (label: string, value: (m: SideMeasure) => string) => [
    label,
    value(ours),
    ...theirs.flatMap((m) => [value(m), '-']),
  ];
  const synth = median(oursParent.milliseconds);
  const synthRole = median(ours.milliseconds);
  return [
    `### N = ${result.count}`,
    '',
    ...table(
      [
        'figure',
        'NestedWorkflowRole',
        'aws-cdk-lib',
        'NestedWorkflowRole / aws-cdk-lib',
        'aws-cdk-lib, minimizePolicies',
        'NestedWorkflowRole / minimizePolicies',
      ],
      [
        numeric('policy characters (no white space)', (m) => m.characters),
        text(`characters / ARN floor (${int(arnFloor)})`, (m) => fixed(m.characters / arnFloor, 3)),
        text(`characters / floor incl. JSON quoting (${int(quotedFloor)})`, (m) =>
          fixed(m.characters / quotedFloor, 3),
        ),
        numeric('statements', (m) => m.statements),
        [
          'policy resources on the role (inline + managed)',
          policyResources(ours),
          ...theirs.flatMap((m) => [policyResources(m), fixed(ratio(ours.policyResources, m.policyResources), 2)]),
        ],
        text('inline characters (all) / largest managed policy', largest),
        text('fits IAM quotas (deployable)', deployable),
        [
          `synthesis of the parent and its role, ms: median of ${runsFor(result.count)} (min–max)`,
          ms(oursParent.milliseconds),
          ...theirs.flatMap((m) => [ms(m.milliseconds), fixed(ratio(synth, median(m.milliseconds)), 2)]),
        ],
        [
          'synthesis of the NestedWorkflowRole alone (against the whole aws-cdk-lib parent)',
          ms(ours.milliseconds),
          ...theirs.flatMap((m) => ['-', fixed(ratio(synthRole, median(m.milliseconds)), 2)]),
        ],
      ],
    ),
    '',
  ];
}

const yesNo = (met: boolean) => (met ? 'met' : 'not met');

function targetsSection(results: readonly CountResult[]): string[] {
  const ours = (r: CountResult) => r.sides.nestedWorkflowRole.characters;
  const arnRatios = results.map((r) => ours(r) / r.floor.characters);
  const quotedRatios = results.map((r) => ours(r) / r.floor.charactersQuoted);
  const quotedMetFrom = results.find((_, i) => quotedRatios.slice(i).every((q) => q <= FLOOR_TARGET))?.count;
  const synthRatios = (side: 'nestedWorkflowRole' | 'nestedWorkflowRoleParent') =>
    results.map((r) => median(r.sides[side].milliseconds) / median(r.sides.awsCdkLib.milliseconds));
  const synthVerdict = (ratios: number[]) => {
    const atTarget = ratios[results.findIndex((r) => r.count === TARGET_COUNT)];
    return atTarget === undefined ? 'n/a' : yesNo(atTarget <= 1);
  };
  const parentRatios = synthRatios('nestedWorkflowRoleParent');
  const roleRatios = synthRatios('nestedWorkflowRole');
  return [
    '## Targets of issue 5',
    '',
    ...table(
      ['target', ...results.map((r) => `N=${r.count}`), 'verdict'],
      [
        [
          `policy characters ≤ ${FLOOR_TARGET} × ARN floor`,
          ...arnRatios.map((q) => fixed(q, 3)),
          arnRatios.every((q) => q <= FLOOR_TARGET) ? 'met' : 'not met (see below: unreachable)',
        ],
        [
          'quotes and commas alone, share of the ARN floor',
          ...results.map((r) => `${fixed((100 * 3 * r.floor.arns.length) / r.floor.characters, 1)}%`),
          '-',
        ],
        [
          `policy characters ≤ ${FLOOR_TARGET} × floor incl. JSON quoting`,
          ...quotedRatios.map((q) => fixed(q, 3)),
          quotedRatios.every((q) => q <= FLOOR_TARGET)
            ? 'met at every N'
            : `not met at every N${quotedMetFrom === undefined ? '' : `: met from N=${quotedMetFrom}`}`,
        ],
        [
          `synthesis time / aws-cdk-lib's (medians), whole parent: target ≤ 1 at N=${TARGET_COUNT}`,
          ...parentRatios.map((q) => fixed(q, 2)),
          synthVerdict(parentRatios),
        ],
        [
          `synthesis time / aws-cdk-lib's (medians), NestedWorkflowRole alone: target ≤ 1 at N=${TARGET_COUNT}`,
          ...roleRatios.map((q) => fixed(q, 2)),
          synthVerdict(roleRatios),
        ],
      ],
    ),
    '',
  ];
}

function awsCdkLibVersion(): string {
  const entry = require.resolve('aws-cdk-lib');
  return JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')).version;
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1];
    if (pretty) return `${pretty}, ${os.type()} ${os.release()}`;
  } catch {
    // Not Linux: the kernel's name and release are all there is.
  }
  return `${os.type()} ${os.release()}`;
}

function machineSection(loadBefore: number[], loadAfter: number[]): string[] {
  const cpus = os.cpus();
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');
  return [
    '## Machine',
    '',
    `- date: ${new Date().toISOString().slice(0, 10)}`,
    `- CPU: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} ${cpus.length === 1 ? 'core' : 'cores'}`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${osName()}`,
    `- Node.js ${process.version} (ts-node), aws-cdk-lib ${awsCdkLibVersion()}`,
    `- load average (1, 5, 15 min) before: ${load(loadBefore)}, after: ${load(loadAfter)}` +
      (Math.max(loadBefore[0], loadAfter[0]) > cpus.length
        ? ': above the number of cores, so other work shared the CPUs and the times are noisy (see min–max)'
        : ''),
    '',
  ];
}

/** The `check` cases (issue 18): parents x children. */
const CHECK_CASES: readonly [number, number][] = [
  [1, 30],
  [1, 300],
  [1, 560],
  [200, 5],
];

function checkSection(timings: readonly CheckTiming[]): string[] {
  return [
    '## The checks (`cdk-nested-workflow-role check`, `NestedWorkflowChecks`)',
    '',
    'For each case, a template of P parents of C synchronous children each, built with `NestedWorkflowRole` and the ' +
      'parent `sfn.StateMachine` that uses it (`test/util/check-benchmark.ts`), written to a file and checked with ' +
      `\`checkTemplateFile\` (what the command line runs, the file read included): median of ${RUNS} runs after one ` +
      'untimed run. Before issue 18 the same cases took 1.25 s (1 x 30), more than 400 s (1 x 300), more than 700 s ' +
      '(1 x 560) and 13.2 s (200 x 5) on the machine of the first run.',
    '',
    ...table(
      ['parents x children', 'findings', 'check ms (min–max)', 'ms per state machine', 'ms per child'],
      timings.map((t) => [
        `${t.parents} x ${t.children}`,
        t.findings,
        ms(t.milliseconds),
        fixed(median(t.milliseconds) / t.parents, 2),
        fixed(median(t.milliseconds) / (t.parents * t.children), 3),
      ]),
    ),
    '',
  ];
}

function report(
  results: readonly CountResult[],
  loadBefore: number[],
  loadAfter: number[],
  checks: readonly CheckTiming[] = [],
): string {
  const q = IAM_QUOTAS;
  const first = results[0];
  const last = results[results.length - 1];
  const fixedCost = first.sides.nestedWorkflowRole.characters - first.floor.charactersQuoted;
  const n1Difference = first.sides.nestedWorkflowRole.characters - first.sides.awsCdkLib.characters;
  const overflow = last.sides.awsCdkLib.quotas.managedCharacters;
  const overflowMean = overflow.length === 0 ? 0 : overflow.reduce((a, b) => a + b, 0) / overflow.length;
  const fullManaged = last.sides.nestedWorkflowRole.quotas.managedCharacters.slice(0, -1);
  const shares = results.map((r) => (3 * r.floor.arns.length) / r.floor.characters);
  const percent = (n: number) => `${(100 * n).toFixed(1)}%`;
  return [
    '# Benchmarks: NestedWorkflowRole and aws-cdk-lib `StepFunctionsStartExecution`',
    '',
    'Generated by `npm run bench` (`scripts/bench.ts`, measuring code in `test/util/benchmark.ts`); run it again to ' +
      'regenerate this file. Synthesis times depend on the machine and its load; the other figures do not.',
    '',
    ...machineSection(loadBefore, loadAfter),
    '## What is built',
    '',
    'For each N, a parent that starts N synchronous children (`RUN_JOB`, `.sync`) named `Child0`..`Child<N-1>`, ' +
      'imported by literal ARN, in one account and region (`111111111111`, `us-east-1`), built four ways in a fresh ' +
      '`App` each time:',
    '',
    '- **NestedWorkflowRole**: `new NestedWorkflowRole(stack, id, { child, integrationPattern })` and N-1 `addChild` ' +
      'calls, nothing else: what this library builds.',
    '- **NestedWorkflowRole + parent** (timing only; its policies are the same, which the script checks): the same ' +
      'role and the parent `sfn.StateMachine` that uses it, its definition a chain of N `startExecution.sync:2` tasks ' +
      'in Amazon States Language (`DefinitionBody.fromString`, as the README advises).',
    '- **aws-cdk-lib**: a parent `sfn.StateMachine` whose definition chains N `tasks.StepFunctionsStartExecution` ' +
      '(`RUN_JOB`), and the role aws-cdk-lib creates for it. That role cannot be built without its parent, so every ' +
      'aws-cdk-lib time is the whole parent.',
    '- **aws-cdk-lib, minimizePolicies**: the same with the feature flag `@aws-cdk/aws-iam:minimizePolicies`, which ' +
      '`cdk init` sets in `cdk.json` (it merges statements); the plain column is an app without that flag.',
    '',
    '## What is measured',
    '',
    "- **policy characters**: every policy attached to the parent's role (inline `AWS::IAM::Policy`, " +
      "`AWS::IAM::ManagedPolicy`, and the role's own `Policies`), taken from the synthesized template, with every " +
      'intrinsic resolved (`test/util/resolve.ts`) and white space removed: what IAM counts against its quotas.',
    "- **ARN floor**: the characters of the ARNs any least-privilege policy must name: each child's " +
      '`stateMachine:<name>` ARN (StartExecution), its `execution:<name>:*` pattern (DescribeExecution, ' +
      'StopExecution), and the managed rule `StepFunctionsGetEventsForStepFunctionsExecutionRule` once. ' +
      '**Floor incl. JSON quoting** adds the 2 quotes and 1 comma each of those ARNs takes in a policy (one comma more ' +
      'than the strict minimum per resource list).',
    '- **policy resources**: `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources attached to the role.',
    `- **fits IAM quotas**: inline policies of the role ≤ ${int(q.inlineCharactersPerRole)} characters in all, each ` +
      `managed policy ≤ ${int(q.managedPolicyCharacters)}, at most ${q.managedPoliciesPerRole} managed policies per ` +
      `role (the default quota; ${q.managedPoliciesPerRoleRaised} on request). A role over them fails to deploy.`,
    `- **synthesis**: from \`new App()\` through the constructs to the end of \`app.synth()\`, median of ${RUNS} ` +
      `runs (${runsFor(1)} below N=100, where a run takes milliseconds) after one untimed run, the four builds ` +
      'interleaved in one process (in rotating order).',
    "- **ratios**: NestedWorkflowRole's figure divided by aws-cdk-lib's (below 1: smaller or faster).",
    '',
    ...results.flatMap(countSection),
    ...targetsSection(results),
    '### Reading the targets',
    '',
    '- **Within 5% of the ARN floor is arithmetically unreachable** for any policy, at any N: IAM counts the quotes ' +
      `around each ARN and the commas between them, ${percent(Math.min(...shares))} to ` +
      `${percent(Math.max(...shares))} of the ARN floor on their own (the row above), and the document ` +
      '(`{"Version":"2012-10-17","Statement":[...]}`, 38 characters per policy) and each statement\'s effect and ' +
      'actions come on top. The floor incl. JSON quoting is the one a policy can approach.',
    '- **At small N no policy can come near either floor**: the actions (`states:StartExecution`, ' +
      '`states:DescribeExecution`, `states:StopExecution`, three `events:` actions), the statement and document ' +
      `syntax are a fixed cost (${int(fixedCost)} characters above the quoted floor at N=${first.count}) that the ` +
      `ARNs of a few children cannot amortize. At N=${first.count} NestedWorkflowRole's policy is ` +
      `${n1Difference === 0 ? 'as long as' : `${int(Math.abs(n1Difference))} ${Math.abs(n1Difference) === 1 ? 'character' : 'characters'} ${n1Difference > 0 ? 'longer' : 'shorter'} than`} ` +
      "aws-cdk-lib's (its execution resource is `execution:<name>:*`, aws-cdk-lib's `execution:<name>*`).",
    '- **At large N**, what is left above the quoted floor is one document per policy resource and one statement ' +
      'frame per kind of grant and policy (a kind of grant split across policies repeats its actions)' +
      (fullManaged.length === 0
        ? '.'
        : `: at N=${last.count} every managed policy but the last holds at least ${int(Math.min(...fullManaged))} ` +
          `of its ${int(q.managedPolicyCharacters)} characters.`),
    '- **Synthesis**: a CPU profile (`node --cpu-prof`, N=300, aws-cdk-lib 2.258 without `minimizePolicies`, taken ' +
      "once by hand, not by this script) puts about half of aws-cdk-lib's time in `Role.splitLargePolicy`, which " +
      'compares the statements of the default policy pairwise (`mergeStatements`, run even when merging is off) and ' +
      'so grows with the square of the number of statements; most of the rest is resolving and rendering ' +
      'hundreds of statements and creating 300 task constructs. NestedWorkflowRole spends its time parsing and checking each ' +
      "child's ARN, and packs the grants once, in linear time.",
    '',
    ...checkSection(checks),
    '## How aws-cdk-lib splits its default policy',
    '',
    'In aws-cdk-lib 2.258, `iam.Role` splits its `DefaultPolicy` at synthesis (an aspect, `Role.splitLargePolicy`): ' +
      'statements stay in the default policy while their estimated size stays under 10,000 characters; each statement ' +
      'that does not fit goes to the first `OverflowPolicy<i>` managed policy whose estimate stays within 6,000 ' +
      '(a new one when none has room). The estimate counts an ARN that holds a token (here ' +
      '`arn:${AWS::Partition}:states:...:execution:<name>*`) as 150 characters, so its overflow policies hold ' +
      `${int(overflowMean)} real characters on average (N=${last.count}); above 10 managed policies it only warns ` +
      '(`@aws-cdk/aws-iam:rolePolicyLarge`, and `rolePolicyTooLarge` above 20): synthesis succeeds, the deployment ' +
      'fails. Without `minimizePolicies` every task adds its own StartExecution and Describe/Stop statements (only ' +
      'identical statements, the events one, are merged); with it, statements with the same actions merge. ' +
      'Either way aws-cdk-lib grants `execution:<name>*` (no colon: every execution of `<name>2`, `<name>Admin`), one ' +
      'character shorter per child than the floor counted here.',
    '',
  ].join('\n');
}

function main(): void {
  const loadBefore = os.loadavg();
  const results: CountResult[] = [];
  for (const count of COUNTS) {
    process.stderr.write(`N=${count}: measuring ${BENCH_SIDES.length} builds, ${runsFor(count)} timed runs each\n`);
    results.push(measureCount(count));
  }
  const checks = CHECK_CASES.map(([parents, children]) => {
    process.stderr.write(`check: ${parents} x ${children}, ${RUNS} timed runs\n`);
    return timeCheck(parents, children, RUNS);
  });
  const text = report(results, loadBefore, os.loadavg(), checks);
  mkdirSync(dirname(OUTPUT), { recursive: true });
  writeFileSync(OUTPUT, text);
  process.stdout.write(text);
  process.stderr.write(`written to ${OUTPUT}\n`);
}

main();
