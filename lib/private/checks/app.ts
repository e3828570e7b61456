import * as fs from 'fs';
import * as path from 'path';
import { CfnElement, Stack, Stage, Token, Validations } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { IConstruct } from 'constructs';
import { checkParents, checkTemplate } from './engine';
import { Finding } from './rules';
import { assemblyTemplates } from '../read/cloud-assembly';
import { readTemplateFile } from '../read/template-file';
import { TemplateEnv, TemplateReader } from '../read/template-reader';

/**
 * Runs the checks on template files: of a CDK app (the plugin: each stack's environment is read from the app, and
 * acknowledgements from its constructs), or given on the command line with an environment for all.
 */
export function checkTemplateFile(templatePath: string, env: TemplateEnv): Finding[] {
  return checkTemplate(new TemplateReader(readTemplateFile(templatePath), env, templatePath));
}

/** What `checkPath` checked and found. */
export interface CheckReport {
  readonly findings: Finding[];
  /** The templates read (a cloud assembly holds one per stack, nested stacks included). */
  readonly templates: number;
  /** The state machines checked: those that start child state machines or run Distributed Maps. */
  readonly parents: number;
}

/**
 * The checks on a template file (JSON or YAML) or on every template of a cloud assembly directory (`cdk.out`), each
 * stack with its own environment where the assembly knows it, else `env`.
 */
export function checkPath(templateOrAssembly: string, env: TemplateEnv): CheckReport {
  const templates = fs.statSync(templateOrAssembly, { throwIfNoEntry: false })?.isDirectory()
    ? assemblyTemplates(templateOrAssembly).map((t) => ({
        templatePath: t.templatePath,
        template: t.template,
        env: {
          ...env,
          account: t.env.account ?? env.account,
          region: t.env.region ?? env.region,
          partition: t.env.partition ?? env.partition,
        },
      }))
    : [{ templatePath: templateOrAssembly, template: readTemplateFile(templateOrAssembly), env }];
  const findings: Finding[] = [];
  let parents = 0;
  for (const t of templates) {
    const checked = checkParents(new TemplateReader(t.template, t.env, t.templatePath));
    findings.push(...checked.findings);
    parents += checked.parents;
  }
  return { findings, templates: templates.length, parents };
}

/** The checks on the app's templates, less the findings acknowledged on a parent or one of its scopes. */
export function checkAppTemplates(templatePaths: string[], app: IConstruct | undefined): Finding[] {
  const stacks = app ? app.node.findAll().filter((c): c is Stack => Stack.isStack(c)) : [];
  const findings: Finding[] = [];
  for (const templatePath of templatePaths) {
    const stack = stacks.find((s) => samePath(path.join(Stage.of(s)?.outdir ?? '', s.templateFile), templatePath));
    let elements: Map<string, IConstruct> | undefined;
    for (const finding of checkTemplateFile(templatePath, stack ? stackEnv(stack) : {})) {
      // The stack's elements by logical id, listed once for all its findings.
      elements ??= stack ? elementsByLogicalId(stack) : new Map();
      const construct = elements.get(finding.parent);
      if (construct && acknowledged(construct, finding.rule.id)) continue;
      findings.push(finding);
    }
  }
  return findings;
}

/** The stack's environment where it is known. */
function stackEnv(stack: Stack): TemplateEnv {
  const known = (value: string) => (Token.isUnresolved(value) ? undefined : value);
  const region = known(stack.region);
  return {
    account: known(stack.account),
    region,
    partition: known(stack.partition) ?? (region ? RegionInfo.get(region).partition : undefined),
  };
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

/** The elements of `stack` (not of its nested stacks) by logical id, the first of each id in construct order. */
function elementsByLogicalId(stack: Stack): Map<string, IConstruct> {
  const elements = new Map<string, IConstruct>();
  for (const c of stack.node.findAll()) {
    if (!(c instanceof CfnElement) || Stack.of(c) !== stack) continue;
    const logicalId = stack.resolve(c.logicalId) as string;
    if (!elements.has(logicalId)) elements.set(logicalId, c);
  }
  return elements;
}

/** Whether `Validations.of(scope).acknowledge({ id })` named the rule on the construct or one of its scopes. */
function acknowledged(construct: IConstruct, ruleId: string): boolean {
  for (let current: IConstruct | undefined = construct; current; current = current.node.scope) {
    for (const entry of current.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || typeof entry.data !== 'object') continue;
      const ids = Object.keys(entry.data as object).map((id) =>
        id.replace(/^(annotation|NestedWorkflowChecks)::/i, ''),
      );
      if (ids.includes(ruleId)) return true;
    }
  }
  return false;
}
