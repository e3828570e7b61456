#!/usr/bin/env node
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { NestedWorkflowRole } from './nested-workflow-role';
import { checkTemplateFile } from './private/checks/app';
import { Finding } from './private/checks/rules';
import { JsonObject } from './private/model/json';
import { readDefinition } from './private/read/definition';
import { findRolePolicies } from './private/read/role-policies';
import { TemplateEnv, TemplateReader } from './private/read/template-reader';
import { MAP_RUN_POLICY_ID } from './private/role/map-run';

/**
 * `cdk-nested-workflow-role`: the policy a parent needs, for users outside CDK (console, SAM, Terraform), and the
 * checks of `NestedWorkflowChecks` on CloudFormation templates.
 */

const USAGE = `Usage: cdk-nested-workflow-role <command> [options]

Commands:
  policy <definition.asl.json>   print the exact identity and trust policy of a parent state machine
  check <template.json>...       check the roles of the state machines of CloudFormation templates

Run 'cdk-nested-workflow-role <command> --help' for a command's options.`;

const POLICY_USAGE = `Usage: cdk-nested-workflow-role policy <definition.asl.json> [options]

Prints, as JSON with literal ARNs, the identity policy and the trust policy that a parent state machine with this
definition needs for its nested workflows, built by NestedWorkflowRole (the same code as the construct).

Options:
  --substitution Name=Value   a definition substitution (\${Name}), repeatable
  --region R                  the parent's region (required)
  --account A                 the parent's account (required)
  --partition P               the parent's partition (default: the region's)
  --parent-name NAME          the parent state machine's name: trust only it (aws:SourceArn), not every one of the
                              account; required for a definition with a Distributed Map, whose Map Runs start
                              child workflow executions of the parent itself
  --document identity|map-run|trust
                              print only that policy document (default: all, as {"IdentityPolicy", "MapRunPolicy"
                              (Distributed Maps only), "TrustPolicy"})
  --help                      show this help`;

const CHECK_USAGE = `Usage: cdk-nested-workflow-role check <template.json>... [options]

Checks every AWS::StepFunctions::StateMachine of the templates (synthesized by CDK, or transformed from SAM or
Serverless) that starts child state machines: the calls Step Functions makes against the policies of its role.
Rules: NWR1 missing, NWR5 cannot run (errors), NWR2 too broad, NWR3 wrong partition, NWR4 undecidable
(warnings).
Exits with 1 when any error is found.

Options:
  --region R        the stacks' region (default: unknown, ARNs with \${AWS::Region} stay symbolic)
  --account A       the stacks' account (default: unknown)
  --partition P     the stacks' partition (default: the region's, or unknown)
  --help            show this help`;

/** Where the command line writes. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
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
      default:
        output.err(command === undefined ? USAGE : `Unknown command '${command}'.\n\n${USAGE}`);
        return 1;
    }
  } catch (e) {
    output.err(`Error: ${(e as Error).message}`);
    return 1;
  }
}

function policyCommand(args: string[], output: Output): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      substitution: { type: 'string', multiple: true },
      region: { type: 'string' },
      account: { type: 'string' },
      partition: { type: 'string' },
      'parent-name': { type: 'string' },
      document: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    output.out(POLICY_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new Error(
      `policy takes one definition file, got: ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n\n${POLICY_USAGE}`,
    );
  }
  const { region, account } = values;
  if (region === undefined || account === undefined) {
    throw new Error(
      "`--region` and `--account` are required: the policy names the parent's region and account (the events rule, the trust policy).",
    );
  }
  if (!/^\d{12}$/.test(account)) throw new Error(`\`--account\` must be a 12-digit account id, got: ${account}`);
  const regionPartition = RegionInfo.get(region).partition;
  const partition = values.partition ?? regionPartition;
  if (partition === undefined) {
    throw new Error(
      `\`--partition\` is required for region ${region}, which this version of aws-cdk-lib does not know.`,
    );
  }
  if (regionPartition !== undefined && partition !== regionPartition) {
    throw new Error(
      `\`--partition\` must be the partition of region ${region} (${regionPartition}), got: ${partition}`,
    );
  }
  const document = values.document;
  if (document !== undefined && !['identity', 'map-run', 'trust'].includes(document)) {
    throw new Error(`\`--document\` must be identity, map-run or trust, got: ${document}`);
  }
  const substitutions: { [key: string]: string } = {};
  for (const entry of values.substitution ?? []) {
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new Error(`\`--substitution\` must be Name=Value, got: ${entry}`);
    substitutions[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  const parentName = values['parent-name'];
  const definitionBody = sfn.DefinitionBody.fromFile(positionals[0]);
  // Map Runs start executions of the parent itself: the policy names it (the construct's own errors come first).
  const maps = readDefinition('Parent/ParentRole', definitionBody, substitutions).distributedMaps;
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
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody,
      definitionSubstitutions: substitutions,
      parentStateMachineName: parentName,
    });
    const assembly = app.synth();
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type === 'aws:cdk:warning') output.err(`warning: ${String(entry.data)}`);
      }
    }
    const template = assembly.getStackByName(stack.stackName).template as JsonObject;
    const reader = new TemplateReader(template, { partition, region, account });
    const logicalId = (element: CfnElement) => stack.resolve(element.logicalId) as string;
    const roleId = logicalId(parentRole.role.node.defaultChild as CfnElement);
    const mapRunElement = parentRole.node.tryFindChild(MAP_RUN_POLICY_ID) as CfnElement | undefined;
    const mapRunId = mapRunElement ? logicalId(mapRunElement) : undefined;
    const identity: JsonObject[] = [];
    let mapRun: JsonObject | undefined;
    const refersTo = (value: unknown, id: string) => (value as { Ref?: unknown } | null)?.Ref === id;
    for (const policy of findRolePolicies(roleId, Object.entries(reader.resources), refersTo).policies) {
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
                IdentityPolicy: first,
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
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      region: { type: 'string' },
      account: { type: 'string' },
      partition: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    output.out(CHECK_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new Error(`check takes at least one template file.\n\n${CHECK_USAGE}`);
  const env: TemplateEnv = {
    region: values.region,
    account: values.account,
    partition: values.partition ?? (values.region ? RegionInfo.get(values.region).partition : undefined),
  };
  const findings: Finding[] = [];
  for (const file of positionals) {
    let found: Finding[];
    try {
      found = checkTemplateFile(file, env);
    } catch (e) {
      throw new Error(`cannot read the template ${file}: ${(e as Error).message}`);
    }
    findings.push(...found);
    for (const finding of found) {
      output.out(
        `${finding.rule.severity.toUpperCase()} ${finding.rule.id} ${file} ${finding.parent}: ${finding.message}\n  fix: ${finding.rule.fix}`,
      );
    }
  }
  const errors = findings.filter((f) => f.rule.severity === 'error').length;
  const warnings = findings.length - errors;
  output.out(
    `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${positionals.length} template${positionals.length === 1 ? '' : 's'}`,
  );
  return errors > 0 ? 1 : 0;
}

// Run as the package's bin (tests call `main` in process, or spawn this file).
/* istanbul ignore next */
if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  });
}
