/**
 * What `scripts/bench.ts` (`npm run bench`) measures, kept here so the tests type-check and exercise it:
 * the parents it builds, the size of the policies their role gets (what IAM counts), the floor those policies
 * cannot go below, IAM's quotas, and synthesis time.
 *
 * Every parent starts `N` synchronous (`RUN_JOB`, `.sync`) children `Child0`..`Child<N-1>`, imported by literal
 * ARN, in the account and region of `newStack()`.
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { IAM_MINIMIZE_POLICIES } from 'aws-cdk-lib/cx-api';
import { measure, PARENT } from './compare';
import { executionArn, importedChild, MANAGED_RULE, newStack, ruleArn, stateMachineArn } from './fixtures';
import { resolveValue } from './resolve';
import { rolePolicies } from './simulator';
import { NestedWorkflowRole } from '../../lib';

/** IAM quotas, in characters without white space (what IAM counts). */
export const IAM_QUOTAS = {
  /** Every inline policy of a role, summed. */
  inlineCharactersPerRole: 10_240,
  /** Each managed policy. */
  managedPolicyCharacters: 6_144,
  /** Managed policies attached to a role: the default quota. */
  managedPoliciesPerRole: 10,
  /** Managed policies attached to a role: the most IAM grants on request. */
  managedPoliciesPerRoleRaised: 20,
} as const;

/**
 * How a parent and its role are built:
 * - `nestedWorkflowRole`: a `NestedWorkflowRole` alone (what this library builds);
 * - `nestedWorkflowRoleParent`: the same, and the parent `sfn.StateMachine` that uses it, its definition in Amazon
 *   States Language (as the README advises): the whole parent, to set against aws-cdk-lib's;
 * - `awsCdkLib`: a parent `sfn.StateMachine` chaining one `tasks.StepFunctionsStartExecution` per child, with the role
 *   aws-cdk-lib creates for it;
 * - `awsCdkLibMinimized`: the same with the feature flag `@aws-cdk/aws-iam:minimizePolicies` (which `cdk init` sets).
 */
export type BenchSide = 'nestedWorkflowRole' | 'nestedWorkflowRoleParent' | 'awsCdkLib' | 'awsCdkLibMinimized';

export const BENCH_SIDES: readonly BenchSide[] = [
  'nestedWorkflowRole',
  'nestedWorkflowRoleParent',
  'awsCdkLib',
  'awsCdkLibMinimized',
];

/** The names of the `count` children of a benchmark parent. */
export function childNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `Child${i}`);
}

/** A parent built in a fresh app: the app to synthesize, the stack and the role whose policies are measured. */
export interface BenchParent {
  readonly app: App;
  readonly stack: Stack;
  readonly role: iam.IRole;
}

/**
 * A `NestedWorkflowRole` for `count` synchronous children: the first given as `child`, the others with `addChild`.
 *
 * @param withParent also build the parent `sfn.StateMachine` with this role, its definition in Amazon States Language
 *   (`parentDefinition`); without it, only what the construct builds
 */
export function buildNestedWorkflowRole(count: number, withParent = false): BenchParent {
  const stack = newStack();
  const names = childNames(count);
  const children = names.map((name, i) => importedChild(stack, `Child${i}`, stateMachineArn(name)));
  const integrationPattern = sfn.IntegrationPattern.RUN_JOB;
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { child: children[0], integrationPattern });
  for (const child of children.slice(1)) {
    parentRole.addChild(child, { integrationPattern });
  }
  if (withParent) {
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(parentDefinition(names))),
    });
  }
  return { app: appOf(stack), stack, role: parentRole.role };
}

/**
 * The Amazon States Language definition of a parent that runs the children one after the other, each with the task
 * `StepFunctionsStartExecution` renders for `RUN_JOB` (`startExecution.sync:2`, the input passed through).
 */
export function parentDefinition(names: readonly string[]): object {
  const states: { [name: string]: object } = {};
  names.forEach((name, i) => {
    states[`Start${i}`] = {
      Type: 'Task',
      Resource: `arn:${PARENT.partition}:states:::states:startExecution.sync:2`,
      Parameters: { StateMachineArn: stateMachineArn(name), 'Input.$': '$' },
      ...(i + 1 < names.length ? { Next: `Start${i + 1}` } : { End: true }),
    };
  });
  return { StartAt: 'Start0', States: states };
}

/**
 * A parent `sfn.StateMachine` whose definition chains one `tasks.StepFunctionsStartExecution` (`RUN_JOB`) per child,
 * as `test/util/compare.ts` builds it; its role is the one aws-cdk-lib creates.
 *
 * @param minimizePolicies set the feature flag `@aws-cdk/aws-iam:minimizePolicies` (which `cdk init` turns on);
 *   off, as in an app without that context
 */
export function buildAwsCdkLib(count: number, minimizePolicies = false): BenchParent {
  const stack = newStack();
  if (minimizePolicies) stack.node.setContext(IAM_MINIMIZE_POLICIES, true);
  const steps = childNames(count).map(
    (name, i) =>
      new tasks.StepFunctionsStartExecution(stack, `Start${i}`, {
        stateMachine: importedChild(stack, `Child${i}`, stateMachineArn(name)),
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      }),
  );
  const definition = steps.slice(1).reduce((chain, step) => chain.next(step), sfn.Chain.start(steps[0]));
  const parent = new sfn.StateMachine(stack, 'Parent', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
  });
  return { app: appOf(stack), stack, role: parent.role };
}

/** Builds one side's parent for `count` children. */
export function buildParent(side: BenchSide, count: number): BenchParent {
  switch (side) {
    case 'nestedWorkflowRole':
      return buildNestedWorkflowRole(count);
    case 'nestedWorkflowRoleParent':
      return buildNestedWorkflowRole(count, true);
    case 'awsCdkLib':
      return buildAwsCdkLib(count);
    case 'awsCdkLibMinimized':
      return buildAwsCdkLib(count, true);
  }
}

/** A synthesized parent: its template, the logical id of its role, and how long building and synthesis took. */
export interface SynthesizedParent {
  readonly template: any;
  readonly roleLogicalId: string;
  /** Milliseconds from the creation of the app to the end of `app.synth()`. */
  readonly milliseconds: number;
}

/** Builds the parent in a fresh app and synthesizes it (timed), then deletes the cloud assembly (not timed). */
export function synthesize(build: () => BenchParent): SynthesizedParent {
  const start = performance.now();
  const { app, stack, role } = build();
  const assembly = app.synth();
  const milliseconds = performance.now() - start;
  const template = assembly.getStackArtifact(stack.artifactId).template;
  rmSync(assembly.directory, { recursive: true, force: true });
  const roleResource = role.node.defaultChild;
  if (!(roleResource instanceof CfnElement)) throw new Error(`${role.node.path} has no CloudFormation resource`);
  return { template, roleLogicalId: stack.resolve(roleResource.logicalId), milliseconds };
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Characters of a policy document as IAM counts them: its JSON without white space. */
export function policyCharacters(document: unknown): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

/** One policy attached to the role, resolved. */
export interface AttachedPolicy {
  /** Logical id of the resource (for an inline policy of the role's `Policies`, the role's and the policy name). */
  readonly logicalId: string;
  readonly kind: 'inline' | 'managed';
  /** Characters without white space of the resolved document. */
  readonly characters: number;
}

/**
 * Every policy attached to the role `roleLogicalId` of `template`, resolved and measured: the role's own `Policies`
 * and the `AWS::IAM::Policy` resources (inline), the `AWS::IAM::ManagedPolicy` resources whose `Roles` or the role's
 * `ManagedPolicyArns` name it (managed). The same policies `rolePolicies` (the simulator's view) collects, by kind.
 */
export function attachedPolicies(template: any, roleLogicalId: string): AttachedPolicy[] {
  const resources: { [logicalId: string]: any } = template.Resources ?? {};
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`'${roleLogicalId}' is not an AWS::IAM::Role of the template`);
  const isRole = (value: any) => value?.Ref === roleLogicalId;
  const managedArns = JSON.stringify(role.Properties?.ManagedPolicyArns ?? []);
  const size = (document: unknown) => policyCharacters(resolveValue(document, template, PARENT));
  const out: AttachedPolicy[] = (role.Properties?.Policies ?? []).map((policy: any) => ({
    logicalId: `${roleLogicalId}.${policy.PolicyName}`,
    kind: 'inline',
    characters: size(policy.PolicyDocument),
  }));
  for (const [logicalId, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Policy' && (props.Roles ?? []).some(isRole)) {
      out.push({ logicalId, kind: 'inline', characters: size(props.PolicyDocument) });
    } else if (
      resource.Type === 'AWS::IAM::ManagedPolicy' &&
      ((props.Roles ?? []).some(isRole) || managedArns.includes(`"${logicalId}"`))
    ) {
      out.push({ logicalId, kind: 'managed', characters: size(props.PolicyDocument) });
    }
  }
  return out;
}

/** Whether the role's policies fit IAM's quotas. */
export interface QuotaCheck {
  /** Characters of every inline policy of the role, summed (quota: 10,240). */
  readonly inlineCharacters: number;
  /** Characters of each managed policy (quota: 6,144 each). */
  readonly managedCharacters: number[];
  /** Fits the default quotas (10 managed policies). */
  readonly deployable: boolean;
  /** Fits only once the managed policies quota is raised to 20 (on request). */
  readonly deployableWithRaisedQuota: boolean;
  /** Every quota exceeded, in words; empty when deployable. */
  readonly problems: string[];
}

/** Checks the role's policies against IAM's quotas (characters without white space). */
export function checkQuotas(policies: readonly AttachedPolicy[]): QuotaCheck {
  const inlineCharacters = sum(policies.filter((p) => p.kind === 'inline').map((p) => p.characters));
  const managedCharacters = policies.filter((p) => p.kind === 'managed').map((p) => p.characters);
  const sizeProblems: string[] = [];
  if (inlineCharacters > IAM_QUOTAS.inlineCharactersPerRole) {
    sizeProblems.push(`inline policies ${inlineCharacters} > ${IAM_QUOTAS.inlineCharactersPerRole} characters`);
  }
  const oversized = managedCharacters.filter((c) => c > IAM_QUOTAS.managedPolicyCharacters);
  if (oversized.length > 0) {
    sizeProblems.push(
      `${oversized.length} managed ${oversized.length === 1 ? 'policy' : 'policies'} > ${IAM_QUOTAS.managedPolicyCharacters} characters`,
    );
  }
  const count = managedCharacters.length;
  const countProblems: string[] = [];
  if (count > IAM_QUOTAS.managedPoliciesPerRole) {
    countProblems.push(
      `${count} managed policies > ${IAM_QUOTAS.managedPoliciesPerRole}` +
        (count > IAM_QUOTAS.managedPoliciesPerRoleRaised
          ? ` (and > ${IAM_QUOTAS.managedPoliciesPerRoleRaised}, the most IAM grants)`
          : ` (the quota can be raised to ${IAM_QUOTAS.managedPoliciesPerRoleRaised} on request)`),
    );
  }
  return {
    inlineCharacters,
    managedCharacters,
    deployable: sizeProblems.length === 0 && countProblems.length === 0,
    deployableWithRaisedQuota: sizeProblems.length === 0 && count <= IAM_QUOTAS.managedPoliciesPerRoleRaised,
    problems: [...sizeProblems, ...countProblems],
  };
}

/** The least any policy granting the children of a parent can hold: the ARNs it must name. */
export interface Floor {
  /** Every ARN needed: each child's state machine and execution pattern, and the managed rule (once). */
  readonly arns: string[];
  /** Characters of the ARNs alone. */
  readonly characters: number;
  /** With the JSON every listed ARN needs: 2 quotes and 1 comma each. */
  readonly charactersQuoted: number;
}

/**
 * The floor of the policies of a parent of synchronous children: each child's `stateMachine:<name>` ARN (for
 * StartExecution) and `execution:<name>:*` pattern (Describe/StopExecution), and the events managed rule.
 */
export function floor(names: readonly string[]): Floor {
  const arns = [
    ...names.flatMap((name) => [stateMachineArn(name), executionArn(name, '*')]),
    ...(names.length > 0 ? [ruleArn(MANAGED_RULE)] : []),
  ];
  const characters = sum(arns.map((arn) => arn.length));
  return { arns, characters, charactersQuoted: characters + 3 * arns.length };
}

/** What the benchmark reports of one side at one N. */
export interface SideMeasure {
  readonly side: BenchSide;
  readonly count: number;
  /** Characters without white space of every policy attached to the role, summed. */
  readonly characters: number;
  readonly statements: number;
  /** AWS::IAM::Policy + AWS::IAM::ManagedPolicy resources attached to the role. */
  readonly policyResources: number;
  readonly quotas: QuotaCheck;
  /** Synthesis time of each run, in milliseconds, in run order. */
  readonly milliseconds: number[];
}

/**
 * Measures the policies of a synthesized parent's role. The characters and policy count come from the simulator's
 * view of the role (`rolePolicies`, `measure`); the split by kind for the quotas from `attachedPolicies`, which must
 * agree with it.
 */
export function measurePolicies(
  synthesized: SynthesizedParent,
): Pick<SideMeasure, 'characters' | 'statements' | 'policyResources' | 'quotas'> {
  const policies = rolePolicies(synthesized.template, synthesized.roleLogicalId, PARENT);
  const { characters, statements } = measure(policies);
  const attached = attachedPolicies(synthesized.template, synthesized.roleLogicalId);
  const attachedCharacters = sum(attached.map((p) => p.characters));
  if (attachedCharacters !== characters || attached.length !== policies.identityPolicies.length) {
    throw new Error(
      `attachedPolicies (${attached.length} policies, ${attachedCharacters} characters) disagrees with ` +
        `rolePolicies (${policies.identityPolicies.length} policies, ${characters} characters)`,
    );
  }
  return { characters, statements, policyResources: policies.policyResourceCount, quotas: checkQuotas(attached) };
}

/** `ours / theirs`, or undefined when `theirs` is 0. */
export function ratio(ours: number, theirs: number): number | undefined {
  return theirs === 0 ? undefined : ours / theirs;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function appOf(stack: Stack): App {
  const root = stack.node.root;
  if (!(root instanceof App)) throw new Error('the stack is not in an App');
  return root;
}
