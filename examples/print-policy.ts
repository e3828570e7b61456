/**
 * `npm run example`: synthesizes the example app offline and prints every policy document of the parent role, with
 * CloudFormation intrinsics rendered as `${...}` placeholders, then a one-line summary.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnElement } from 'aws-cdk-lib';
import { buildExampleApp } from './app';
import { render, sizeWithoutWhiteSpace, Template, TemplateResource } from './render';

const STACK_NAME = 'NestedWorkflowExample';

interface PrintedDocument {
  readonly heading: string;
  /** Undefined for a managed policy from outside the stack, whose document the template does not hold. */
  readonly document?: unknown;
}

/** The logical id that `value` refers to with `{ Ref }`, if any. */
function refOf(value: unknown): string | undefined {
  const ref = (value as { Ref?: unknown } | null)?.Ref;
  return typeof ref === 'string' ? ref : undefined;
}

/** True when `list` (a `Roles` or `ManagedPolicyArns` list) holds `{ Ref: logicalId }`. */
function refers(list: unknown, logicalId: string): boolean {
  return Array.isArray(list) && list.some((value) => refOf(value) === logicalId);
}

/** The resource's construct path within the stack (`aws:cdk:path` without the stack), or its logical id. */
function constructPath(logicalId: string, resource: TemplateResource): string {
  const cdkPath = resource.Metadata?.['aws:cdk:path'];
  return typeof cdkPath === 'string' ? cdkPath.replace(`${STACK_NAME}/`, '') : logicalId;
}

/** The role's trust policy, its inline policies, and the policies and managed policies attached to it. */
function roleDocuments(template: Template, roleId: string): PrintedDocument[] {
  const resources = template.Resources ?? {};
  const role = resources[roleId];
  const rolePath = constructPath(roleId, role);
  const documents: PrintedDocument[] = [
    { heading: `${rolePath} (AWS::IAM::Role trust policy)`, document: role.Properties?.AssumeRolePolicyDocument },
  ];
  const inline = (role.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[];
  for (const { PolicyName, PolicyDocument } of inline) {
    documents.push({ heading: `${rolePath}/${PolicyName} (AWS::IAM::Role inline policy)`, document: PolicyDocument });
  }
  const managedPolicyArns = role.Properties?.ManagedPolicyArns;
  for (const [logicalId, resource] of Object.entries(resources)) {
    const attached =
      (['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resource.Type) &&
        refers(resource.Properties?.Roles, roleId)) ||
      (resource.Type === 'AWS::IAM::ManagedPolicy' && refers(managedPolicyArns, logicalId));
    if (attached) {
      documents.push({
        heading: `${constructPath(logicalId, resource)} (${resource.Type})`,
        document: resource.Properties?.PolicyDocument,
      });
    }
  }
  for (const arn of Array.isArray(managedPolicyArns) ? managedPolicyArns : []) {
    const id = refOf(arn);
    if (id === undefined || resources[id] === undefined) {
      documents.push({ heading: `${render(arn, template)} (managed policy from outside the stack: not shown)` });
    }
  }
  return documents;
}

function main(): void {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nested-workflow-example-'));
  try {
    // Path metadata (`aws:cdk:path`, which the CDK CLI turns on) names each document by its construct path.
    const context = { 'aws:cdk:enable-path-metadata': true };
    const { app, stack, parentRole } = buildExampleApp({ outdir, context });
    const template = app.synth().getStackByName(STACK_NAME).template as Template;
    const roleResource = parentRole.role.node.defaultChild;
    if (!(roleResource instanceof CfnElement)) throw new Error('The parent role has no CloudFormation resource');
    const roleId: string = stack.resolve(stack.getLogicalId(roleResource));

    let count = 0;
    let size = 0;
    for (const { heading, document } of roleDocuments(template, roleId)) {
      if (document === undefined) {
        process.stdout.write(`# ${heading}\n\n`);
        continue;
      }
      const rendered = render(document, template);
      count++;
      size += sizeWithoutWhiteSpace(rendered);
      process.stdout.write(`# ${heading}\n${JSON.stringify(rendered, undefined, 2)}\n\n`);
    }
    process.stdout.write(
      `${count} policy documents, ${size} characters without white space ` +
        '(as rendered here, with placeholders: deployed sizes differ)\n',
    );
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

main();
