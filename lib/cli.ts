#!/usr/bin/env node
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs, ParseArgsConfig } from 'util';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { NestedWorkflowRole } from './nested-workflow-role';
import { checkPath } from './private/checks/app';
import { Finding } from './private/checks/rules';
import { toSarif } from './private/checks/sarif';
import { isAccountId, isRegionName } from './private/model/arns';
import { JsonObject, objectOf } from './private/model/json';
import { readDefinition } from './private/read/definition';
import { findRolePolicies, refersByRef } from './private/read/role-policies';
import { TemplateEnv, TemplateReader } from './private/read/template-reader';
import { MAP_RUN_POLICY_ID } from './private/role/map-run';
import { TASKS_NOT_GRANTED } from './private/role/parent';
import { ROLE_NOT_USED } from './private/role/usage';

/**
 * `cdk-nested-workflow-role`: the policy a parent needs, for users outside CDK (console, SAM, Terraform), and the
 * checks of `NestedWorkflowChecks` on CloudFormation templates.
 */

const USAGE = `Usage: cdk-nested-workflow-role <command> [options]

Commands:
  policy <definition.asl.json>   print the exact identity and trust policy of a parent state machine
  check <template|cdk.out>...    check the roles of the state machines of CloudFormation templates

Options:
  --version                      print the version
  --help                         show this help

Run 'cdk-nested-workflow-role <command> --help' for a command's options.
Exit codes: 0 success (no finding at --fail-on), 1 findings, 2 usage or input errors.`;

const POLICY_USAGE = `Usage: cdk-nested-workflow-role policy <definition.asl.json> [options]

Prints, as JSON with literal ARNs, the identity policy and the trust policy that a parent state machine with this
definition needs for its nested workflows, built by NestedWorkflowRole (the same code as the construct).

Options:
  --substitution Name=Value   a definition substitution (\${Name}), repeatable
  --runtime-child State=ARN   a child state machine that state State may start, for a state that takes its child's
                              ARN at run time (StateMachineArn.$): repeatable, once per child
  --region R                  the parent's region (required)
  --account A                 the parent's account (required)
  --partition P               the parent's partition (default: the region's)
  --parent-name NAME          the parent state machine's name: trust only it (aws:SourceArn), not every one of the
                              account; required for a definition with a Distributed Map, whose Map Runs start
                              child workflow executions of the parent itself
  --parent-type standard|express
                              the parent's type (default: standard); an Express parent refuses tasks that wait
                              (.sync, .waitForTaskToken), as Step Functions does
  --document identity|map-run|trust
                              print only that policy document (default: all, as {"IdentityPolicy" (child state
                              machines only), "MapRunPolicy" (Distributed Maps only), "TrustPolicy"})
  --help                      show this help`;

const CHECK_USAGE = `Usage: cdk-nested-workflow-role check <template|cdk.out>... [options]

Checks every AWS::StepFunctions::StateMachine of the templates (JSON or YAML, synthesized by CDK, written for
CloudFormation or SAM, or transformed from Serverless) that starts child state machines: the calls Step Functions
makes against the policies of its role. A directory is read as a cloud assembly (cdk.out): every stack's template,
nested stacks included, each with the stack's environment.
Rules: NWR1 missing, NWR5 cannot run (errors), NWR2 too broad, NWR3 wrong partition, NWR4 undecidable
(warnings).

Options:
  --region R                  the stacks' region (default: unknown, ARNs with \${AWS::Region} stay symbolic)
  --account A                 the stacks' account (default: unknown)
  --partition P               the stacks' partition (default: the region's, or unknown)
  --format text|json|sarif    how findings are printed (default: text; sarif: SARIF 2.1.0 for code scanning)
  --fail-on error|warning     exit with 1 on a finding of this severity or higher (default: error)
  --help                      show this help

Exit codes: 0 no finding at --fail-on, 1 findings, 2 usage or input errors.`;

/** Where the command line writes. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes: findings, and usage or input errors (bad options, unreadable files, a file that is not a template). */
const EXIT_FINDINGS = 1;
const EXIT_USAGE = 2;

/** The package's version. */
export function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf-8')) as { version: string })
    .version;
}

/** Runs the command line; returns the exit code. */
export function main(argv: string[], output: Output): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'policy':
        return policyCommand(rest, output);
      case 'check':
        return checkCommand(rest, output);
      case '--help':
      case '-h':
      case 'help':
        output.out(USAGE);
        return 0;
      case '--version':
      case '-v':
        output.out(version());
        return 0;
      default:
        output.err(command === undefined ? USAGE : `Unknown command '${command}'.\n\n${USAGE}`);
        return EXIT_USAGE;
    }
  } catch (e) {
    // Every error here is the user's input (an option, a file): the construct's and the readers' messages say which.
    output.err(`Error: ${(e as Error).message}`);
    return EXIT_USAGE;
  }
}

/** The partitions this version of aws-cdk-lib knows. */
const PARTITIONS = new Set(RegionInfo.regions.map((r) => r.partition).filter((p): p is string => p !== undefined));

/** `--region`, `--account` and `--partition`, checked: each is optional here, `policy` requires region and account. */
function environment(values: { region?: string; account?: string; partition?: string }): TemplateEnv {
  const { region, account } = values;
  if (account !== undefined && !isAccountId(account)) {
    throw new Error(`\`--account\` must be a 12-digit account id, got: ${account}`);
  }
  if (region !== undefined && !isRegionName(region)) {
    throw new Error(`\`--region\` must be a region name such as us-east-1, got: ${region}`);
  }
  if (values.partition !== undefined && !PARTITIONS.has(values.partition)) {
    throw new Error(`\`--partition\` must be one of ${[...PARTITIONS].join(', ')}, got: ${values.partition}`);
  }
  const regionPartition = region === undefined ? undefined : RegionInfo.get(region).partition;
  const partition = values.partition ?? regionPartition;
  if (region !== undefined && partition === undefined) {
    throw new Error(
      `\`--partition\` is required for region ${region}, which this version of aws-cdk-lib does not know.`,
    );
  }
  if (regionPartition !== undefined && partition !== regionPartition) {
    throw new Error(
      `\`--partition\` must be the partition of region ${region} (${regionPartition}), got: ${partition}`,
    );
  }
  return { region, account, partition };
}

/** `parseArgs` with its errors (an unknown option, a missing value) said with the command's usage. */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, allowPositionals: true, options });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n\n${usage}`);
  }
}

function policyCommand(args: string[], output: Output): number {
  const { values, positionals } = parse(
    args,
    {
      substitution: { type: 'string', multiple: true },
      'runtime-child': { type: 'string', multiple: true },
      region: { type: 'string' },
      account: { type: 'string' },
      partition: { type: 'string' },
      'parent-name': { type: 'string' },
      'parent-type': { type: 'string' },
      document: { type: 'string' },
      help: { type: 'boolean' },
    },
    POLICY_USAGE,
  );
  if (values.help) {
    output.out(POLICY_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new Error(
      `policy takes one definition file, got: ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n\n${POLICY_USAGE}`,
    );
  }
  if (values.region === undefined || values.account === undefined) {
    throw new Error(
      "`--region` and `--account` are required: the policy names the parent's region and account (the events rule, the trust policy).",
    );
  }
  const { region, account, partition } = environment(values) as Required<TemplateEnv>;
  const document = values.document;
  if (document !== undefined && !['identity', 'map-run', 'trust'].includes(document)) {
    throw new Error(`\`--document\` must be identity, map-run or trust, got: ${document}`);
  }
  // STANDARD and EXPRESS too, as CloudFormation and the console write them.
  const parentType = values['parent-type']?.toLowerCase();
  if (parentType !== undefined && !['standard', 'express'].includes(parentType)) {
    throw new Error(`\`--parent-type\` must be standard or express, got: ${values['parent-type']}`);
  }
  // Any name, `__proto__` included, is the substitution's own.
  const substitutions = objectOf(
    (values.substitution ?? []).map((entry): [string, string] => {
      const equals = entry.indexOf('=');
      if (equals <= 0) throw new Error(`\`--substitution\` must be Name=Value, got: ${entry}`);
      return [entry.slice(0, equals), entry.slice(equals + 1)];
    }),
  ) as { [key: string]: string };
  const runtimeChildArns = new Map<string, string[]>();
  for (const entry of values['runtime-child'] ?? []) {
    const equals = entry.lastIndexOf('=');
    if (equals <= 0 || equals === entry.length - 1) {
      throw new Error(`\`--runtime-child\` must be State=ARN (the state's name, then a child's ARN), got: ${entry}`);
    }
    const state = entry.slice(0, equals);
    runtimeChildArns.set(state, [...(runtimeChildArns.get(state) ?? []), entry.slice(equals + 1)]);
  }
  const definitionFile = positionals[0];
  if (!fs.statSync(definitionFile, { throwIfNoEntry: false })?.isFile()) {
    throw new Error(`cannot read the definition ${definitionFile}: no such file`);
  }
  const parentName = values['parent-name'];
  const definitionBody = sfn.DefinitionBody.fromFile(definitionFile);
  // Map Runs start executions of the parent itself: the policy names it (the construct's own errors come first).
  const read = speakCli(() => readDefinition(WHERE, definitionBody, substitutions));
  const maps = read.distributedMaps;
  if (maps.length > 0 && parentName === undefined) {
    throw new Error(
      `\`--parent-name\` is required: Distributed Map ${maps.map((m) => `'${m.stateName}'`).join(', ')} runs child workflow executions of the parent state machine itself, ` +
        "so the policy grants states:StartExecution on the parent's own ARN. Pass the parent state machine's name: --parent-name NAME.",
    );
  }

  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-nested-workflow-role-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:disable-creation-stack-traces': true } });
    const stack = new Stack(app, 'Parent', { env: { account, region } });
    let childId = 0;
    const runtimeChildren = [...runtimeChildArns].map(([stateName, arns]) => ({
      stateName,
      children: arns.map((arn) => sfn.StateMachine.fromStateMachineArn(stack, `RuntimeChild${++childId}`, arn)),
    }));
    const parentRole = speakCli(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody,
          definitionSubstitutions: substitutions,
          parentStateMachineName: parentName,
          parentStateMachineType: parentType === 'express' ? sfn.StateMachineType.EXPRESS : undefined,
          runtimeChildren,
        }),
    );
    const assembly = speakCli(() => app.synth());
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        const text = String(entry.data);
        // No state machine uses the role here: there is none, the user attaches the policy to theirs. The tasks that
        // get no grant are said below, for the command line.
        if (
          entry.type !== 'aws:cdk:warning' ||
          [ROLE_NOT_USED, TASKS_NOT_GRANTED].some((id) => text.includes(`[ack: ${id}]`))
        ) {
          continue;
        }
        output.err(`warning: ${cliText(text)}`);
      }
    }
    const others = [...new Set(read.others)];
    if (others.length > 0) {
      output.err(
        `warning: the policy grants only nested workflows; these tasks of the definition need grants of their own, which you add to the role: ${others.join(', ')}.`,
      );
    }
    const template = assembly.getStackByName(stack.stackName).template as JsonObject;
    const reader = new TemplateReader(template, { partition, region, account });
    const logicalId = (element: CfnElement) => stack.resolve(element.logicalId) as string;
    const roleId = logicalId(parentRole.role.node.defaultChild as CfnElement);
    const mapRunElement = parentRole.node.tryFindChild(MAP_RUN_POLICY_ID) as CfnElement | undefined;
    const mapRunId = mapRunElement ? logicalId(mapRunElement) : undefined;
    const identity: JsonObject[] = [];
    let mapRun: JsonObject | undefined;
    for (const policy of findRolePolicies(roleId, Object.entries(reader.resources), refersByRef).policies) {
      const resolved = reader.resolve(policy.document as JsonObject) as JsonObject;
      if (policy.logicalId === mapRunId) mapRun = resolved;
      else identity.push(resolved);
    }
    const trust = reader.resolve(reader.resources[roleId].Properties?.AssumeRolePolicyDocument) as JsonObject;
    const [first, ...more] = identity;
    if (more.length > 0) {
      output.err(
        `warning: the grants do not fit one policy (IAM quotas): ${identity.length} documents; attach each (IdentityPolicy, ManagedPolicies).`,
      );
    }
    if (document === 'identity' && !first) {
      // Validation passed, so the definition has a Distributed Map: its Map Run policy is all the role needs.
      throw new Error(
        "`--document identity`: the definition starts no child state machine, so there is no identity policy; its Distributed Maps' grants are the Map Run policy: pass --document map-run.",
      );
    }
    if (document === 'identity' && mapRun) {
      output.err(
        'warning: the Map Run grants of the Distributed Maps are a separate document: print it with --document map-run and attach it to the role too.',
      );
    }
    if (document === 'map-run' && !mapRun) {
      throw new Error('`--document map-run`: the definition has no Distributed Map, so there is no Map Run policy.');
    }
    const result =
      document === 'identity'
        ? first
        : document === 'trust'
          ? trust
          : document === 'map-run'
            ? mapRun
            : {
                ...(first ? { IdentityPolicy: first } : {}),
                ...(more.length > 0 ? { ManagedPolicies: more } : {}),
                ...(mapRun ? { MapRunPolicy: mapRun } : {}),
                TrustPolicy: trust,
              };
    output.out(JSON.stringify(result, null, 2));
    return 0;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function checkCommand(args: string[], output: Output): number {
  const { values, positionals } = parse(
    args,
    {
      region: { type: 'string' },
      account: { type: 'string' },
      partition: { type: 'string' },
      format: { type: 'string' },
      'fail-on': { type: 'string' },
      help: { type: 'boolean' },
    },
    CHECK_USAGE,
  );
  if (values.help) {
    output.out(CHECK_USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    throw new Error(`check takes at least one template file or cdk.out directory.\n\n${CHECK_USAGE}`);
  }
  const format = values.format ?? 'text';
  if (!['text', 'json', 'sarif'].includes(format)) {
    throw new Error(`\`--format\` must be text, json or sarif, got: ${format}`);
  }
  const failOn = values['fail-on'] ?? 'error';
  if (!['error', 'warning'].includes(failOn)) throw new Error(`\`--fail-on\` must be error or warning, got: ${failOn}`);
  const env: TemplateEnv = {
    ...environment(values),
    unknownFix: 'pass --account, --region (and --partition) to `check`, or check the cdk.out of a stack with an env',
  };
  const findings: Finding[] = [];
  let templates = 0;
  let parents = 0;
  for (const file of positionals) {
    if (!fs.existsSync(file)) throw new Error(`cannot read the template ${file}: no such file or directory`);
    const report = checkPath(file, env);
    findings.push(...report.findings);
    templates += report.templates;
    parents += report.parents;
  }
  const errors = findings.filter((f) => f.rule.severity === 'error').length;
  const warnings = findings.length - errors;
  if (format === 'sarif') {
    output.out(JSON.stringify(toSarif(findings, version(), process.cwd()), null, 2));
  } else if (format === 'json') {
    const json = findings.map((f) => ({
      ruleId: f.rule.id,
      severity: f.rule.severity,
      template: f.templatePath,
      parent: f.parent,
      resources: f.resources,
      message: f.message,
      fix: f.rule.fix,
    }));
    output.out(JSON.stringify({ findings: json, errors, warnings, templates, parents }, null, 2));
  } else {
    for (const f of findings) {
      output.out(
        `${f.rule.severity.toUpperCase()} ${f.rule.id} ${f.templatePath} ${f.parent}: ${f.message}\n  fix: ${f.rule.fix}`,
      );
    }
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    // A template with no parent passes: say so, lest the wrong file (an assets template, a nested stack) look clean.
    output.out(
      `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(templates, 'template')}, ${plural(parents, 'state machine')} checked` +
        (parents === 0 ? ': none starts a child state machine or runs a Distributed Map' : ''),
    );
  }
  const failing = failOn === 'warning' ? findings.length : errors;
  return failing > 0 ? EXIT_FINDINGS : 0;
}

/** Where `policy` builds its role: the construct path its messages start with. */
const WHERE = 'Parent/ParentRole';

/**
 * A message of the construct said for the command line: its props are options or the definition file here, and no
 * construct path names what failed.
 */
function cliText(message: string): string {
  return message
    .replace(/^Validation failed with the following errors:\n\s*/, '')
    .replace(/ \[ack: [^\]]+\]$/, '')
    .replace(new RegExp(`(^|\\n)\\s*(\\[${WHERE}\\] |${WHERE}: )`, 'g'), '$1')
    .replace(
      /`runtimeChildren: \[\{ stateName: '((?:[^'\\]|\\.)*)', children: \[childA, childB\] \}\]`/g,
      (_, state: string) => `--runtime-child '${state}=<child ARN>' (once per child)`,
    )
    .replace(/`runtimeChildren`/g, '`--runtime-child`')
    .replace(/`parentStateMachineName`/g, '`--parent-name`')
    .replace(/`parentStateMachineType` is EXPRESS/g, '`--parent-type` is express')
    .replace(/`definitionBody` file /g, 'the definition file ')
    .replace(/`definitionBody`/g, 'the definition')
    .replace(/no definition of this role has a state/g, 'the definition has no state')
    .replace(
      /NestedWorkflowRole has no child state machine: pass `child` in its props or call `addChild\(child\)` before synthesis \(its definition has no task that starts one, ([^)]*), and no Distributed Map\)\./,
      'the definition starts no child state machine (no task $1) and has no Distributed Map: it needs no nested workflow grants.',
    );
}

/** Runs `produce`, the construct's messages said for the command line (its props are options here). */
function speakCli<T>(produce: () => T): T {
  try {
    return produce();
  } catch (e) {
    const message = cliText((e as Error).message);
    const missing = /`definitionSubstitutions` has no `([^`]+)`/.exec(message);
    if (missing) {
      const uses =
        /state '[^']*' uses \$\{[^}]*\} in [^,]*/.exec(message)?.[0] ?? `the definition uses \${${missing[1]}}`;
      throw new Error(
        `${uses.replace(/^state/, 'State')}, but no value is given for it: pass --substitution ${missing[1]}=ARN.`,
      );
    }
    throw new Error(message);
  }
}

// Run as the package's bin (tests call `main` in process, or spawn this file).
/* istanbul ignore next */
if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  });
}
