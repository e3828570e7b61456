/**
 * Side-by-side simulation of aws-cdk-lib's own `StepFunctionsStartExecution` task and `NestedWorkflowRole`, for the
 * same children, with the IAM simulator and the probe table (`probesFor`).
 *
 * For each scenario two stacks are built in the same environment: (a) a parent `sfn.StateMachine` whose definition
 * chains one `tasks.StepFunctionsStartExecution` per child, of which the policies of the role aws-cdk-lib creates
 * are simulated; (b) a `NestedWorkflowRole` with the same children and patterns. Shared by `scripts/compare.ts` (the
 * Markdown report) and `test/comparison.test.ts` (the findings as assertions).
 */
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { ACCOUNT, importedChild, newStack, PARTITION, REGION, stateMachineArn } from './fixtures';
import { ChildScenario, ParentEnv, Pattern, ProbeCase, probesFor } from './probes';
import { ResolveEnv } from './resolve';
import { RolePolicies, rolePolicies, simulate } from './simulator';
import { NestedWorkflowRole } from '../../lib';

/** Where both parents live: the stacks of `newStack()`. */
export const PARENT: ParentEnv & ResolveEnv = { partition: PARTITION, region: REGION, account: ACCOUNT };

/** The account of the cross-account child. */
export const CHILD_ACCOUNT = '999999999999';

export type Verdict = 'Allowed' | 'Denied';
export type Side = 'awsCdkLib' | 'nestedWorkflowRole';
export const SIDES: readonly Side[] = ['awsCdkLib', 'nestedWorkflowRole'];

/** One child of a scenario: its name, how it is addressed and how the parent starts it. */
export interface ComparisonChild {
  readonly name: string;
  readonly pattern: Pattern;
  /** Alias or version: the parent starts `stateMachine:<name>:<qualifier>`. */
  readonly qualifier?: string;
  /** @default PARENT.account */
  readonly account?: string;
}

export interface ComparisonScenario {
  /** Short stable key, e.g. 'run-job'. */
  readonly id: string;
  readonly title: string;
  readonly children: readonly ComparisonChild[];
}

export const SCENARIOS: readonly ComparisonScenario[] = [
  {
    id: 'run-job',
    title: 'RUN_JOB child imported by ARN',
    children: [{ name: 'Worker', pattern: 'RUN_JOB' }],
  },
  {
    id: 'request-response',
    title: 'REQUEST_RESPONSE child imported by ARN',
    children: [{ name: 'Worker', pattern: 'REQUEST_RESPONSE' }],
  },
  {
    id: 'wait-for-task-token',
    title: 'WAIT_FOR_TASK_TOKEN child imported by ARN',
    children: [{ name: 'Worker', pattern: 'WAIT_FOR_TASK_TOKEN' }],
  },
  {
    id: 'alias',
    title: 'RUN_JOB child addressed by an alias ARN',
    children: [{ name: 'Worker', pattern: 'RUN_JOB', qualifier: 'PROD' }],
  },
  {
    id: 'version',
    title: 'RUN_JOB child addressed by a version ARN',
    children: [{ name: 'Worker', pattern: 'RUN_JOB', qualifier: '3' }],
  },
  {
    id: 'cross-account',
    title: `RUN_JOB child in another account (${CHILD_ACCOUNT}), same region`,
    children: [{ name: 'Worker', pattern: 'RUN_JOB', account: CHILD_ACCOUNT }],
  },
];

/** The ARN the parent is given for `child` (qualified for an alias or version). */
export function childArn(child: ComparisonChild): string {
  const name = child.qualifier === undefined ? child.name : `${child.name}:${child.qualifier}`;
  return stateMachineArn(name, { account: child.account ?? PARENT.account });
}

/** The probe table's view of `child`. */
export function childScenario(child: ComparisonChild): ChildScenario {
  return {
    partition: PARENT.partition,
    region: PARENT.region,
    account: child.account ?? PARENT.account,
    name: child.name,
    qualifier: child.qualifier,
    pattern: child.pattern,
  };
}

/** One probe with the decision of each side. */
export interface ComparedProbe {
  /** The child the probe is about (its name, with the qualifier if any). */
  readonly child: string;
  readonly probe: ProbeCase;
  readonly awsCdkLib: Verdict;
  /** Undefined when `NestedWorkflowRole` refused the scenario at synthesis. */
  readonly nestedWorkflowRole?: Verdict;
}

/** A near miss of the probe table left out because it is the very request of a needed call of the same child. */
export interface SkippedProbe {
  readonly child: string;
  readonly probe: ProbeCase;
  /** Label of the needed probe it coincides with. */
  readonly sameAs: string;
}

/** Size of the policies attached to a role, as IAM counts it: characters without white space. */
export interface PolicyMeasure {
  /** Characters of every resolved policy document attached to the role, without white space, summed. */
  readonly characters: number;
  readonly statements: number;
  readonly documents: number;
  /** Every statement, one line each: `Allow <actions> on <resources> [if <conditions>]`. */
  readonly grants: readonly string[];
}

export interface SideResult {
  /** The role's resolved policies; undefined when refused at synthesis. */
  readonly policies?: RolePolicies;
  readonly measure?: PolicyMeasure;
  /** First sentence of the error when the construct refused the scenario at synthesis. */
  readonly refused?: string;
}

export interface ScenarioResult {
  readonly scenario: ComparisonScenario;
  readonly probes: readonly ComparedProbe[];
  readonly skipped: readonly SkippedProbe[];
  readonly awsCdkLib: SideResult;
  readonly nestedWorkflowRole: SideResult;
}

export type Finding = 'ok' | 'over-grant' | 'under-grant';

/** How a decision compares with the probe's expectation. */
export function finding(probe: ProbeCase, verdict: Verdict): Finding {
  if (verdict === probe.expect) return 'ok';
  return verdict === 'Allowed' ? 'over-grant' : 'under-grant';
}

/** Probes a side allows although they are near misses (expected Denied). */
export function overGrants(result: ScenarioResult, side: Side): ComparedProbe[] {
  return result.probes.filter((p) => p[side] !== undefined && finding(p.probe, p[side]) === 'over-grant');
}

/** Probes a side denies although Step Functions makes the call (expected Allowed). */
export function underGrants(result: ScenarioResult, side: Side): ComparedProbe[] {
  return result.probes.filter((p) => p[side] !== undefined && finding(p.probe, p[side]) === 'under-grant');
}

/** (a) The parent `sfn.StateMachine` with one `StepFunctionsStartExecution` task per child: its role's policies. */
export function awsCdkLibPolicies(scenario: ComparisonScenario): RolePolicies {
  const stack = newStack();
  const steps = scenario.children.map((child, i) => {
    const stateMachine = importedChild(stack, `Child${i}`, childArn(child));
    const integrationPattern = sfn.IntegrationPattern[child.pattern];
    return new tasks.StepFunctionsStartExecution(stack, `Start${i}`, {
      stateMachine,
      integrationPattern,
      input:
        integrationPattern === sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN
          ? sfn.TaskInput.fromObject({ token: sfn.JsonPath.taskToken })
          : undefined,
    });
  });
  const definition = steps.slice(1).reduce((chain, step) => chain.next(step), sfn.Chain.start(steps[0]));
  const parent = new sfn.StateMachine(stack, 'Parent', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
  });
  return policiesOf(stack, parent.role.node.defaultChild);
}

/** (b) A `NestedWorkflowRole` with the same children and patterns; throws if the construct refuses them. */
export function nestedWorkflowRolePolicies(scenario: ComparisonScenario): RolePolicies {
  const stack = newStack();
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
  scenario.children.forEach((child, i) => {
    parentRole.addChild(importedChild(stack, `Child${i}`, childArn(child)), {
      integrationPattern: sfn.IntegrationPattern[child.pattern],
    });
  });
  return policiesOf(stack, parentRole.role.node.defaultChild);
}

/** Simulates every probe of every child of `scenario` on both sides. */
export async function compareScenario(scenario: ComparisonScenario): Promise<ScenarioResult> {
  const awsCdkLib = awsCdkLibPolicies(scenario);
  let nestedWorkflowRole: SideResult;
  try {
    const policies = nestedWorkflowRolePolicies(scenario);
    nestedWorkflowRole = { policies, measure: measure(policies) };
  } catch (e) {
    nestedWorkflowRole = { refused: firstSentence((e as Error).message) };
  }

  const probes: ComparedProbe[] = [];
  const skipped: SkippedProbe[] = [];
  for (const child of scenario.children) {
    const name = child.qualifier === undefined ? child.name : `${child.name}:${child.qualifier}`;
    const table = probesFor(childScenario(child), PARENT);
    const needed = new Map(table.filter((p) => p.expect === 'Allowed').map((p) => [requestKey(p), p.label]));
    for (const probe of table) {
      const sameAs = probe.expect === 'Denied' ? needed.get(requestKey(probe)) : undefined;
      if (sameAs !== undefined) {
        skipped.push({ child: name, probe, sameAs });
        continue;
      }
      probes.push({
        child: name,
        probe,
        awsCdkLib: await decide(awsCdkLib, probe),
        nestedWorkflowRole: nestedWorkflowRole.policies && (await decide(nestedWorkflowRole.policies, probe)),
      });
    }
  }
  return {
    scenario,
    probes,
    skipped,
    awsCdkLib: { policies: awsCdkLib, measure: measure(awsCdkLib) },
    nestedWorkflowRole,
  };
}

/** Every scenario, in order (sequentially: the output does not depend on timing). */
export async function compareAll(scenarios: readonly ComparisonScenario[] = SCENARIOS): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    results.push(await compareScenario(scenario));
  }
  return results;
}

/** Size and statements of the role's policy documents, as IAM counts them (white space excluded). */
export function measure(policies: RolePolicies): PolicyMeasure {
  const statements = policies.identityPolicies.flatMap((document) => [document?.Statement ?? []].flat());
  return {
    characters: policies.identityPolicies.reduce(
      (sum, document) => sum + JSON.stringify(document).replace(/\s/g, '').length,
      0,
    ),
    statements: statements.length,
    documents: policies.identityPolicies.length,
    grants: statements.map(describeStatement),
  };
}

/**
 * The first sentence of an error message, without the "Validation failed" preamble and construct path CDK puts in
 * front of errors raised by validations at synthesis.
 */
export function firstSentence(message: string): string {
  const text = message.replace(/^Validation failed with the following errors:\s*(\[[^\]]*\]\s*)?/, '').trim();
  const end = /\.(\s|$)/.exec(text);
  return end ? text.slice(0, end.index + 1) : text;
}

// -----------------------------------------------------------------------------------------------
// Internals
// -----------------------------------------------------------------------------------------------

function policiesOf(stack: Stack, roleResource: unknown): RolePolicies {
  if (!(roleResource instanceof CfnElement)) throw new Error('the role has no CloudFormation resource');
  const roleId: string = stack.resolve(stack.getLogicalId(roleResource));
  return rolePolicies(Template.fromStack(stack).toJSON(), roleId, PARENT);
}

async function decide(policies: RolePolicies, probe: ProbeCase): Promise<Verdict> {
  return (await simulate(policies, probe, PARENT)) === 'Allowed' ? 'Allowed' : 'Denied';
}

/** The request a probe makes: action, resource and context (sorted). */
function requestKey(probe: ProbeCase): string {
  const context = Object.entries(probe.context ?? {})
    .map(([key, value]) => [key, [value].flat()] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([probe.action, probe.resource, context]);
}

function describeStatement(statement: any): string {
  const list = (value: unknown) => [value ?? []].flat().join(', ');
  const action =
    statement.Action !== undefined ? list(statement.Action) : `every action but ${list(statement.NotAction)}`;
  const resource =
    statement.Resource !== undefined ? list(statement.Resource) : `every resource but ${list(statement.NotResource)}`;
  const condition = statement.Condition === undefined ? '' : ` if ${JSON.stringify(statement.Condition)}`;
  return `${statement.Effect} ${action} on ${resource}${condition}`;
}
