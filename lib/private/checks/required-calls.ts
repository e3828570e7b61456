import { Lazy, Token } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Call, callKey } from './evaluator';
import { ASSUME_ROLE, EVENTS_ACTIONS, QUALIFIER_KEY } from '../model/actions';
import { managedRuleArn, parseStateMachineArn } from '../model/arns';
import { distributedMapError, expressParentError, mapRunStatements } from '../model/execution';
import { externalIdNameProblem } from '../model/names';
import { needsFor } from '../model/needs';
import { GrantKind, NestedWorkflowGrants } from '../model/statements';
import { readDefinition } from '../read/definition';
import { describeMarker, markersIn, opaqueMarkersIn } from '../read/template-reader';

/**
 * What a parent needs, for the checks: the calls Step Functions makes on the parent's behalf, derived from the same
 * engine as the construct (`readDefinition`, `needsFor`, `NestedWorkflowGrants`), never from a second copy of it.
 */

/** A parent state machine as the checks see it. */
export interface ParentInput {
  /** How messages name the parent, e.g. its logical id. */
  readonly where: string;
  /** The definition (JSON text; unknown values as markers). */
  readonly definition: string;
  readonly substitutions: { [key: string]: string };
  /** The parent's partition, region and account (markers where unknown). */
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  /** The type of a child, when the template defines it (by its ARN). */
  readonly childType?: (arn: string) => 'STANDARD' | 'EXPRESS' | undefined;
  /**
   * The parent's own name (`StateMachineName`, or a `⟨Name.<id>⟩` marker): its Distributed Maps start child workflow
   * executions of the parent itself.
   */
  readonly name: string;
  /** The parent's `StateMachineType` (default STANDARD). */
  readonly stateMachineType?: 'STANDARD' | 'EXPRESS';
}

/** A call and the states of the definition that make it. */
export interface RequiredCall extends Call {
  readonly states: string[];
  /** What the call is for: the near misses depend on it (`mapRun`: a call of the parent's Map Runs on itself). */
  readonly kind: GrantKind | 'mapRun';
}

export interface ParentNeeds {
  /** The calls; those of `kind` `events` (a `.sync` child) need the grant before the parent is created. */
  readonly calls: RequiredCall[];
  /** What cannot be decided: a child chosen at run time, a value not known at synthesis, a definition not read. */
  readonly undecidable: string[];
  /**
   * Why the definition cannot run as it is (the construct's own errors): a task that waits in an Express parent or in
   * the Express child executions of a Distributed Map, a Map Run label Step Functions refuses.
   */
  readonly cannotRun: string[];
}

/** The name of an execution in the calls on a child's executions (any name: the grant is on `execution:<name>:*`). */
const EXAMPLE_EXECUTION = 'example-execution-id';
/** The label of the Map Run of a Distributed Map without `Label` (the grant is on `execution:<parent>/*:*`). */
export const EXAMPLE_MAP_RUN = 'example-map-run';

/**
 * Every call the parent needs: the one function the checks ask. Nested workflows come from the definition through
 * `readDefinition` and `needsFor`; the calls of Distributed Map runs and Express parents are added here.
 */
export function parentNeeds(parent: ParentInput): ParentNeeds {
  const undecidable: string[] = [];
  const cannotRun: string[] = [];
  const byKey = new Map<string, RequiredCall>();
  const tokens = new TokenMarkers();

  let tasks;
  try {
    tasks = readDefinition(
      parent.where,
      sfn.DefinitionBody.fromString(tokens.encode(parent.definition)),
      tokens.encodeAll(parent.substitutions),
    );
  } catch (e) {
    return { calls: [], undecidable: [tokens.decode((e as Error).message)], cannotRun };
  }
  const add = (call: RequiredCall) => {
    const key = callKey(call);
    const existing = byKey.get(key);
    if (existing) {
      for (const state of call.states) if (!existing.states.includes(state)) existing.states.push(state);
    } else {
      byKey.set(key, call);
    }
  };
  const managedRule = managedRuleArn(parent);
  for (const task of tasks.nested) {
    const state = task.stateName;
    const credentialsRole = task.credentialsRoleArn === undefined ? undefined : tokens.decode(task.credentialsRoleArn);
    // How the task starts its child, whatever the child is.
    const howStarted = {
      integrationPattern: task.integrationPattern,
      startExecutionSync: !task.express && task.integrationPattern === sfn.IntegrationPattern.RUN_JOB,
      grantee: credentialsRole !== undefined ? ('parent-via-role' as const) : ('parent' as const),
    };
    // The calls that do not depend on the child (the events rule of a .sync task, the credentials role): needed
    // even where the child is not known.
    const unknownChild = () => {
      const needs = needsFor({ ...howStarted, express: task.express, credentialsRole });
      if (needs.managedRule) {
        for (const action of EVENTS_ACTIONS) add({ action, resource: managedRule, states: [state], kind: 'events' });
      }
      if (needs.assumeRole !== undefined && opaqueMarkersIn(needs.assumeRole).length === 0) {
        add({ action: ASSUME_ROLE, resource: needs.assumeRole, states: [state], kind: 'assumeRole' });
      }
    };
    if (task.stateMachineArn === undefined) {
      undecidable.push(
        `state '${state}' chooses its child at run time (${tokens.decode(task.runtimeArn ?? '')}): which state machines it may start is not in the template`,
      );
      unknownChild();
      continue;
    }
    const arn = tokens.decode(task.stateMachineArn);
    const opaque = opaqueMarkersIn(arn);
    if (opaque.length > 0) {
      undecidable.push(
        `the child of state '${state}' is ${arn}, which depends on ${opaque.map(describeMarker).join(', ')}`,
      );
      unknownChild();
      continue;
    }
    let parts;
    try {
      parts = parseStateMachineArn(tokens.encode(arn), `the StateMachineArn of state '${state}'`);
    } catch (e) {
      undecidable.push(tokens.decode((e as Error).message));
      unknownChild();
      continue;
    }
    for (const reason of envCannotRun(parent, tokens.decode(parts.region), tokens.decode(parts.account), {
      arn,
      state,
      viaRole: credentialsRole !== undefined,
    })) {
      if (!cannotRun.includes(reason)) cannotRun.push(reason);
    }
    // As NestedWorkflowRole reads a task: startSyncExecution, or a child the template defines as EXPRESS.
    const needs = needsFor({
      ...howStarted,
      express: task.express || parent.childType?.(arn) === 'EXPRESS',
      credentialsRole: credentialsRole === undefined ? undefined : tokens.encode(credentialsRole),
    });
    const nameError = needs.parentArnIsExternalId ? externalIdNameCannotRun(parent.name, state) : undefined;
    if (nameError && !cannotRun.includes(nameError)) cannotRun.push(nameError);
    const grants = new NestedWorkflowGrants();
    grants.add({ arn: tokens.encode(arn), parts, knownUnqualified: false, nameLength: 80 }, needs);
    for (const group of grants.statements({ arn: managedRule, length: managedRule.length })) {
      const qualifiers = group.conditions?.['ForAnyValue:StringEquals']?.[QUALIFIER_KEY];
      for (const action of group.actions) {
        for (const { arn: pattern } of group.resources) {
          const resource = exampleOf(tokens.decode(pattern));
          for (const qualifier of qualifiers ?? [undefined]) {
            const context = qualifier === undefined ? undefined : { [QUALIFIER_KEY]: tokens.decode(qualifier) };
            add({ action, resource, context, states: [state], kind: group.kind });
          }
        }
      }
    }
  }
  // Distributed Maps start child workflow executions of the parent itself: the construct's Map Run grants.
  const maps = tasks.distributedMaps;
  if (maps.length > 0) {
    const { partition, region, account, name } = parent;
    for (const statement of mapRunStatements({ partition, region, account, name }, maps)) {
      for (const action of statement.actions) {
        for (const pattern of statement.resources) {
          const states = maps.map((m) => m.stateName);
          add({ action, resource: exampleOf(tokens.decode(pattern)), states, kind: 'mapRun' });
        }
      }
    }
  }
  const mapError = distributedMapError(maps, tasks.waitingTasks);
  if (mapError) cannotRun.push(tokens.decode(mapError));
  if (parent.stateMachineType === 'EXPRESS') {
    const error = expressParentError("the parent's StateMachineType is EXPRESS", tasks.waitingTasks);
    if (error) cannotRun.push(tokens.decode(error));
  }
  return { calls: [...byKey.values()], undecidable, cannotRun };
}

/**
 * Why the parent cannot start a child in `region` and `account`, when both sides are known: another region (Step
 * Functions has no cross-region integration), or another account without task Credentials.
 */
function envCannotRun(
  parent: ParentInput,
  region: string,
  account: string,
  child: { arn: string; state: string; viaRole: boolean },
): string[] {
  const known = (value: string) => markersIn(value).length === 0 && !Token.isUnresolved(value);
  const subject = `the child ${child.arn} of state '${child.state}'`;
  const reasons: string[] = [];
  if (known(region) && known(parent.region) && region !== parent.region) {
    reasons.push(
      `${subject} is in region ${region}, but the parent is in region ${parent.region}, and Step Functions cannot start a state machine ` +
        "in another region. Deploy the child in the parent's region, or the parent in the child's.",
    );
  }
  if (!child.viaRole && known(account) && known(parent.account) && account !== parent.account) {
    reasons.push(
      `${subject} is in account ${account}, but the parent is in account ${parent.account} and the state has no Credentials. ` +
        'Starting a child in another account needs a role there for the parent to assume: ' +
        '"Credentials": { "RoleArn": "arn:<partition>:iam::<child account>:role/<name>" } (NestedWorkflowTargetRole).',
    );
  }
  return reasons;
}

/** Why a parent named `name` cannot start the `.sync` child of `state` through Credentials, when its name is known. */
function externalIdNameCannotRun(name: string, state: string): string | undefined {
  if (markersIn(name).length > 0) return undefined;
  const problem = externalIdNameProblem(name);
  return problem
    ? `the parent's StateMachineName ${name} ${problem}, but state '${state}' starts its child with .sync through Credentials ` +
        "(in another account), and Step Functions then sends the parent's ARN as sts:ExternalId. Rename the parent state machine."
    : undefined;
}

/**
 * A call Step Functions makes on a granted pattern: `execution:<name>:*` becomes an execution of that name,
 * `execution:<parent>/*:*` (a Map Run without label) one of an unlabelled Map Run.
 */
function exampleOf(pattern: string): string {
  return pattern.replace(/\/\*:\*$/, `/${EXAMPLE_MAP_RUN}:*`).replace(/:\*$/, `:${EXAMPLE_EXECUTION}`);
}

/**
 * Unknown values (markers) become CDK tokens for the engine, whose checks skip tokens (a partition `⟨Partition⟩` is
 * then taken as it is), and are turned back into markers in what it returns.
 */
class TokenMarkers {
  private readonly toToken = new Map<string, string>();
  private readonly toMarker = new Map<string, string>();

  public encode(text: string): string {
    let result = text;
    for (const m of new Set(markersIn(text))) {
      let token = this.toToken.get(m);
      if (token === undefined) {
        token = Lazy.string({ produce: () => m });
        this.toToken.set(m, token);
        this.toMarker.set(token, m);
      }
      result = result.split(m).join(token);
    }
    return result;
  }

  public encodeAll(values: { [key: string]: string }): { [key: string]: string } {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, this.encode(v)]));
  }

  public decode(text: string): string {
    let result = text;
    for (const [token, m] of this.toMarker) result = result.split(token).join(m);
    return result;
  }
}
