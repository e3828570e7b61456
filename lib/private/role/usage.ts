import * as fs from 'fs';
import { Annotations, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IConstruct } from 'constructs';
import { ChildRecord } from './child-checks';
import { describeValue } from './describe';
import { ParentRole } from './parent-role';
import { ASSUME_ROLE } from '../model/actions';
import { actionsOfNeeds, ChildNeeds, missingActions, unionNeeds } from '../model/needs';
import { NestedTask } from '../model/tasks';
import { DeployedDefinition, deployedDefinition } from '../read/deployed-definition';
import { findRoleUsers, RoleUser, userPath } from '../read/role-users';

/**
 * The usage checks (phase 1 warns, phase 5 validates; see `lifecycle.ts`): the role checks the state machines that
 * use it, whatever the order of construction:
 * - no state machine uses it: a warning (`cdk-nested-workflow-role:roleNotUsed`);
 * - it was given definitions: each state machine that uses it must deploy one of them (same body, same values for
 *   the role's substitutions);
 * - every task of a state machine that uses it which starts a child must be granted what it needs.
 *
 * A role given nothing derives its grants from those state machines instead (`derive.ts`).
 */

/** A definition given to the role (`definitionBody`, `addDefinition`). */
export interface GivenDefinition {
  readonly body: sfn.DefinitionBody;
  readonly substitutions?: { [key: string]: string };
}

/** What the role offers the usage checks. */
export interface UsageHost {
  readonly owner: Construct;
  readonly role: ParentRole;
  /** The definitions given to the role. */
  definitions(): GivenDefinition[];
  /** Every child the role grants (given, added, or read from a definition). */
  records(): ChildRecord[];
  /**
   * The records that a task of a definition needs: its child, or the `runtimeChildren` of its state (undefined when
   * the state takes its child at run time and `runtimeChildren` does not name it). Throws like the role's own reading.
   */
  taskRecords(task: NestedTask): ChildRecord[] | undefined;
  /** Reads the tasks of a definition like `definitionBody` (no state change). */
  readTasks(body: sfn.DefinitionBody, substitutions: { [key: string]: string }, where: string): NestedTask[];
}

export const ROLE_NOT_USED = 'cdk-nested-workflow-role:roleNotUsed';

/** Phase 1: warns when no state machine of the app uses the role; returns those that do. */
export function warnIfNotUsed(role: ParentRole): RoleUser[] {
  const users = findRoleUsers(role);
  if (users.length === 0) {
    // On the inner role: aws-cdk-lib honours an acknowledgement made on a scope for the warnings of its children.
    Annotations.of(role).addWarningV2(
      ROLE_NOT_USED,
      'No state machine of the app uses this role, so its grants reach no parent (which then gets a role of its own, without ' +
        'what its children need). Pass `role: parentRole.role` to the parent sfn.StateMachine (or `roleArn: parentRole.role.roleArn` to a CfnStateMachine).',
    );
  }
  return users;
}

/** Phase 5: what the state machines that use the role deploy against what it grants. */
export class UsageChecks {
  constructor(private readonly host: UsageHost) {}

  /**
   * The errors of the state machines that use the role (`users`); `derived` are those the role derived its grants
   * from (granted by construction).
   */
  public validate(users: RoleUser[], derived: ReadonlySet<sfn.CfnStateMachine>): string[] {
    const errors: string[] = [];
    let granted: ChildIndex | undefined;
    for (const user of users) {
      if (derived.has(user.resource)) continue;
      const deployed = deployedDefinition(user);
      if (!deployed.body) continue;
      const given = this.host.definitions();
      if (given.length > 0) {
        // One of the role's own definitions is granted by construction: the same reader read it.
        const mismatch = definitionMismatch(this.host.owner, deployed, given);
        if (mismatch) errors.push(mismatch);
        continue;
      }
      granted ??= new ChildIndex(this.host.owner, this.host.records());
      errors.push(...this.uncovered(deployed, granted));
    }
    return errors;
  }

  /** The tasks of a deployed definition whose child the role does not grant (what they need). */
  private uncovered(deployed: DeployedDefinition, granted: ChildIndex): string[] {
    const where = readingOf(this.host.owner, deployed.user);
    const smPath = userPath(deployed.user);
    const errors: string[] = [];
    for (const task of this.host.readTasks(deployed.body!, deployed.substitutions, where)) {
      const records = this.host.taskRecords(task);
      if (records === undefined) {
        errors.push(
          `state '${task.stateName}' of ${smPath} takes the ARN of the child it starts at run time (${task.runtimeArn}), so this role cannot ` +
            "tell which children it must grant. Give the role the state machine's definition (`definitionBody` or `addDefinition`) with " +
            `\`runtimeChildren: [{ stateName: '${task.stateName}', children: [childA, childB] }]\`.`,
        );
        continue;
      }
      for (const needed of records) {
        const same = granted.find(needed);
        const have = unionNeeds(same.map((r) => r.needs));
        const missing = missingNeeds(this.host.owner, have, needed.needs);
        if (missing.length === 0) continue;
        const child = describeValue(this.host.owner, needed.arn);
        const pattern = patternOf(task);
        errors.push(
          same.length === 0
            ? `state '${task.stateName}' of ${smPath} starts ${child} (${task.resource}), which this role does not grant. ` +
                `Add it with \`addChild(child, { integrationPattern: ${pattern} })\`, or give the role the state machine's definition ` +
                '(`definitionBody` or `addDefinition`) so that it grants every child the definition starts.'
            : `state '${task.stateName}' of ${smPath} starts ${child} with ${task.resource} (${pattern}), but this role grants it only ` +
                `${describeNeeds(this.host.owner, have)}: ${missing.join(', ')} would be denied. Pass \`integrationPattern: ${pattern}\` where ` +
                "the child is added (`addChild(child, { integrationPattern })`), or give the role the state machine's definition " +
                '(`definitionBody` or `addDefinition`) so that it grants what the definition starts.',
        );
      }
    }
    return errors;
  }
}

/** How messages name the reading of a state machine's definition. */
export function readingOf(owner: Construct, user: RoleUser): string {
  return `${owner.node.path} (reading the definition of ${userPath(user)}, which uses this role)`;
}

/** Why a deployed definition is none of the role's, or undefined when it is one of them. */
function definitionMismatch(
  owner: Construct,
  deployed: DeployedDefinition,
  given: GivenDefinition[],
): string | undefined {
  const sameBody = given.filter((g) => sameDefinitionBody(deployed, g.body));
  const fix =
    'Give the role and the state machine the same `definitionBody` and `definitionSubstitutions` (one variable for each, passed to both).';
  const head = `${userPath(deployed.user)} uses this role, but deploys another definition than the role was given:`;
  if (sameBody.length === 0) {
    const roles = given.map((g) => describeGiven(g.body)).join(', ');
    return `${head} it deploys ${describeDeployed(deployed)}; the role was given ${roles}. ${fix}`;
  }
  const differences = sameBody.map((g) =>
    substitutionDifferences(owner, deployed.substitutions, g.substitutions ?? {}),
  );
  if (differences.some((d) => d.length === 0)) return undefined;
  return `${head} it deploys the same definition, ${describeDeployed(deployed)}, with other substitutions: ${differences[0].join('; ')}. ${fix}`;
}

function sameDefinitionBody(deployed: DeployedDefinition, body: sfn.DefinitionBody): boolean {
  if (body instanceof sfn.FileDefinitionBody || body instanceof sfn.StringDefinitionBody) {
    // A file and a string of the same text deploy the same definition.
    if (deployed.rendered) return false;
    const theirs = deployed.file !== undefined ? readText(deployed.file) : deployed.text;
    const ours = body instanceof sfn.FileDefinitionBody ? readText(body.path) : body.body;
    return theirs === ours || equalJson(theirs!, ours);
  }
  // A chain (the role's reading refuses any other kind of body): the same start state and top-level states.
  if (!deployed.rendered) return false;
  const graph = parse(deployed.text!);
  const start = (body as sfn.ChainDefinitionBody).chainable.startState;
  const states = sfn.State.findReachableStates(start, { includeErrorHandlers: true }).map((s) => s.stateId);
  return (
    graph.StartAt === start.stateId &&
    JSON.stringify(Object.keys(graph.States).sort()) === JSON.stringify(states.sort())
  );
}

function substitutionDifferences(
  owner: Construct,
  deployed: { [key: string]: string },
  given: { [key: string]: string },
): string[] {
  const stack = Stack.of(owner);
  const differences: string[] = [];
  for (const [key, value] of Object.entries(given)) {
    const theirs = deployed[key];
    if (theirs === undefined) {
      differences.push(
        `the state machine's \`definitionSubstitutions\` have no \`${key}\` (the role's: ${describeValue(owner, value)})`,
      );
    } else if (JSON.stringify(stack.resolve(theirs)) !== JSON.stringify(stack.resolve(value))) {
      differences.push(
        `\`${key}\` is ${describeValue(owner, theirs)} in the state machine's \`definitionSubstitutions\`, ${describeValue(owner, value)} in the role's`,
      );
    }
  }
  return differences;
}

function describeGiven(body: sfn.DefinitionBody): string {
  if (body instanceof sfn.FileDefinitionBody) return `the file ${body.path}`;
  if (body instanceof sfn.ChainDefinitionBody) {
    return `a chain starting at state '${body.chainable.startState.stateId}'`;
  }
  return 'a string (DefinitionBody.fromString)';
}

function describeDeployed(deployed: DeployedDefinition): string {
  if (deployed.file !== undefined) return `the file ${deployed.file}`;
  if (deployed.rendered) {
    const start = parse(deployed.text!).StartAt;
    return `a chain starting at state '${String(start)}'`;
  }
  return deployed.user.stateMachine ? 'a string (DefinitionBody.fromString)' : 'its DefinitionString';
}

function readText(file: string): string {
  // Both files were read already: the role's in its constructor, the state machine's when it was staged.
  return fs.readFileSync(file, 'utf-8');
}

function parse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: the role's reading of the same text names the parse error.
    return undefined;
  }
}

function equalJson(a: string, b: string): boolean {
  const x = parse(a);
  return x !== undefined && JSON.stringify(x) === JSON.stringify(parse(b));
}

/** The records of a role by child: the same ARN once deployed, or the same parts. */
class ChildIndex {
  private readonly byArn = new Map<string, ChildRecord[]>();
  private readonly byParts = new Map<string, ChildRecord[]>();

  constructor(
    private readonly scope: IConstruct,
    records: ChildRecord[],
  ) {
    for (const record of records) {
      add(this.byArn, this.arnKey(record), record);
      add(this.byParts, this.partsKey(record), record);
    }
  }

  /** The records of the same child. */
  public find(record: ChildRecord): ChildRecord[] {
    return [
      ...new Set([...(this.byArn.get(this.arnKey(record)) ?? []), ...(this.byParts.get(this.partsKey(record)) ?? [])]),
    ];
  }

  private arnKey(record: ChildRecord): string {
    return JSON.stringify(Stack.of(this.scope).resolve(record.arn));
  }

  /** The parts of an ARN split at synthesis (an opaque token's parts are all its own). */
  private partsKey(record: ChildRecord): string {
    const { partition, region, account, name, qualifier, form } = record.parts;
    if (form === 'opaque') return `opaque:${this.arnKey(record)}`;
    return JSON.stringify(Stack.of(this.scope).resolve([partition, region, account, name, qualifier ?? '']));
  }
}

function add(map: Map<string, ChildRecord[]>, key: string, record: ChildRecord): void {
  map.set(key, [...(map.get(key) ?? []), record]);
}

/** The grants `needed` asks for that `have` lacks, as IAM actions. */
function missingNeeds(scope: IConstruct, have: ChildNeeds, needed: ChildNeeds): string[] {
  if (needed.assumeRole !== undefined) {
    const stack = Stack.of(scope);
    const same =
      have.assumeRole !== undefined &&
      JSON.stringify(stack.resolve(have.assumeRole)) === JSON.stringify(stack.resolve(needed.assumeRole));
    return same ? [] : [`${ASSUME_ROLE} on ${describeValue(scope, needed.assumeRole)}`];
  }
  return missingActions(have, needed);
}

/** What the role grants a child: the pattern and the `states:` actions. */
function describeNeeds(scope: IConstruct, needs: ChildNeeds): string {
  if (needs.assumeRole !== undefined) return `${ASSUME_ROLE} on ${describeValue(scope, needs.assumeRole)}`;
  const pattern = needs.executions || needs.startSync ? 'RUN_JOB' : 'REQUEST_RESPONSE or WAIT_FOR_TASK_TOKEN';
  return `${pattern} (${actionsOfNeeds({ ...needs, managedRule: false }).join(', ')})`;
}

function patternOf(task: NestedTask): string {
  return `sfn.IntegrationPattern.${task.integrationPattern}`;
}
