import * as fs from 'fs';
import { Annotations, AspectPriority, Aspects, AssetStaging, Aws, CfnElement, Stack, Token } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IConstruct } from 'constructs';
import { ChildRecord } from './child-role';
import { NestedTask } from './definition';
import { describeValue } from './describe';
import { ChildNeeds } from './grants';
import { ParentRole } from './parent-role';
import { findRoleUsers, RoleUser } from './role-users';

/**
 * The role checks the state machines that use it, at synthesis, whatever the order of construction:
 * - no state machine uses it: a warning (`cdk-nested-workflow-role:roleNotUsed`);
 * - it was given no child and no definition: it grants what the definitions of the state machines that use it start
 *   (read before the grants are packed);
 * - it was given definitions: each state machine that uses it must deploy one of them (same body, same values for
 *   the role's substitutions);
 * - every task of a state machine that uses it which starts a child must be granted what it needs.
 */

/** A definition given to the role (`definitionBody`, `addDefinition`). */
export interface GivenDefinition {
  readonly body: sfn.DefinitionBody;
  readonly substitutions?: { [key: string]: string };
}

/** The definition a state machine that uses the role deploys, as far as it can be read at synthesis. */
interface DeployedDefinition {
  readonly user: RoleUser;
  /** The definition as a body the reader takes; undefined when it cannot be read (an S3 object of your own). */
  readonly body?: sfn.DefinitionBody;
  readonly substitutions: { [key: string]: string };
  /** True for a definition aws-cdk-lib rendered from a chain of states (`DefinitionBody.fromChainable`). */
  readonly rendered: boolean;
  /** The definition file, for `DefinitionBody.fromFile`. */
  readonly file?: string;
  /** The definition text, for a string or a rendered chain. */
  readonly text?: string;
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
  /** Grants a definition read from a state machine that uses the role, as `addDefinition` would. */
  derive(body: sfn.DefinitionBody, substitutions: { [key: string]: string }, where: string, rendered: boolean): void;
}

export const ROLE_NOT_USED = 'cdk-nested-workflow-role:roleNotUsed';

/** Wires the usage checks of a role: an aspect that runs before the grants are packed, and a validation. */
export class RoleUsage {
  private readonly derived = new Set<sfn.CfnStateMachine>();

  constructor(private readonly host: UsageHost) {
    const self = this;
    // Before ChildPolicies packs the grants (an aspect of default priority): derived grants must be packed too.
    Aspects.of(host.owner).add(
      {
        visit(node: IConstruct) {
          if (node === host.owner) self.beforePacking();
        },
      },
      { priority: AspectPriority.MUTATING },
    );
    host.owner.node.addValidation({ validate: () => this.validate() });
  }

  private beforePacking(): void {
    const { owner, role } = this.host;
    const users = findRoleUsers(role);
    if (users.length === 0) {
      // On the inner role: aws-cdk-lib honours an acknowledgement made on a scope for the warnings of its children.
      Annotations.of(role).addWarningV2(
        ROLE_NOT_USED,
        'No state machine of the app uses this role, so its grants reach no parent (which then gets a role of its own, without ' +
          'what its children need). Pass `role: parentRole.role` to the parent sfn.StateMachine (or `roleArn: parentRole.role.roleArn` to a CfnStateMachine).',
      );
      return;
    }
    if (this.host.definitions().length > 0 || this.host.records().length > 0) return;
    for (const user of users) {
      const deployed = deployedDefinition(user);
      if (!deployed.body) continue;
      this.host.derive(deployed.body, deployed.substitutions, readingOf(owner, user), deployed.rendered);
      this.derived.add(user.resource);
    }
  }

  private validate(): string[] {
    const errors: string[] = [];
    for (const user of findRoleUsers(this.host.role)) {
      if (this.derived.has(user.resource)) continue;
      const deployed = deployedDefinition(user);
      if (!deployed.body) continue;
      const given = this.host.definitions();
      if (given.length > 0) {
        // One of the role's own definitions is granted by construction: the same reader read it.
        const mismatch = definitionMismatch(this.host.owner, deployed, given);
        if (mismatch) errors.push(mismatch);
        continue;
      }
      errors.push(...this.uncovered(deployed));
    }
    return errors;
  }

  /** The tasks of a deployed definition whose child the role does not grant (what they need). */
  private uncovered(deployed: DeployedDefinition): string[] {
    const where = readingOf(this.host.owner, deployed.user);
    const smPath = userPath(deployed.user);
    const granted = new ChildIndex(this.host.owner, this.host.records());
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
        const have = union(same.map((r) => r.needs));
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

function userPath(user: RoleUser): string {
  return (user.stateMachine ?? user.resource).node.path;
}

/** How messages name the reading of a state machine's definition. */
function readingOf(owner: Construct, user: RoleUser): string {
  return `${owner.node.path} (reading the definition of ${userPath(user)}, which uses this role)`;
}

/** What a state machine that uses the role deploys. */
function deployedDefinition(user: RoleUser): DeployedDefinition {
  const cfn = user.resource;
  const substitutions = substitutionsOf(cfn);
  const none: DeployedDefinition = { user, substitutions, rendered: false };
  if (cfn.definitionString !== undefined) {
    const raw = cfn.definitionString;
    // aws-cdk-lib renders a chain as one token (`Stack.toJsonString`); a string body is kept as it was given.
    const rendered = user.stateMachine !== undefined && isOneToken(raw);
    const text = isOneToken(raw) ? textOf(cfn, raw) : raw;
    if (text === undefined) return none;
    return { user, substitutions, rendered, text, body: sfn.DefinitionBody.fromString(text) };
  }
  if (cfn.definition !== undefined && !Token.isUnresolved(cfn.definition)) {
    const text = JSON.stringify(tokenizeIntrinsics(cfn.definition));
    return { user, substitutions, rendered: false, text, body: sfn.DefinitionBody.fromString(text) };
  }
  // `DefinitionBody.fromFile`: an asset of the state machine.
  const asset = user.stateMachine?.node.tryFindChild('DefinitionBody');
  const staging = asset instanceof s3assets.Asset ? asset.node.tryFindChild('Stage') : undefined;
  if (!(staging instanceof AssetStaging)) return none;
  const file = staging.sourcePath;
  return { user, substitutions, rendered: false, file, body: sfn.DefinitionBody.fromFile(file) };
}

/**
 * CloudFormation evaluates the intrinsic functions of a `Definition` object (it is part of the template, unlike a
 * `DefinitionString`): each is read as a token of the same expression.
 */
function tokenizeIntrinsics(value: any): any {
  if (Array.isArray(value)) return value.map(tokenizeIntrinsics);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return Token.asString(value);
  return Object.fromEntries(keys.map((key) => [key, tokenizeIntrinsics(value[key])]));
}

function substitutionsOf(cfn: sfn.CfnStateMachine): { [key: string]: string } {
  const value = cfn.definitionSubstitutions;
  if (value === undefined || Token.isUnresolved(value)) return {};
  const out: { [key: string]: string } = {};
  for (const [key, v] of Object.entries(value)) out[key] = Token.asString(v);
  return out;
}

function isOneToken(value: string): boolean {
  return Token.isUnresolved(value) && /^\$\{Token\[[^\]]+\]\}$/.test(value);
}

/**
 * The text of a rendered definition, its CloudFormation expressions turned back into tokens: a state machine of the
 * app into its `stateMachineArn` (so it is read from its own resource, as in the role's own reading), the
 * pseudo parameters into `Aws.*`, anything else into a token of the same expression.
 *
 * Before `prepare` (in the aspect that derives grants) a reference to another stack resolves to a bare `Ref` to a
 * logical id of that stack: it is turned back into the state machine it names, or the text is not readable yet.
 */
function textOf(scope: IConstruct, value: string): string | undefined {
  const stack = Stack.of(scope);
  const resolved = stack.resolve(value);
  if (typeof resolved === 'string') return resolved;
  const join = resolved?.['Fn::Join'];
  if (!Array.isArray(join)) return undefined;
  const local = new Set<string>();
  const machines = new Map<string, sfn.StateMachine[]>();
  for (const node of scope.node.root.node.findAll()) {
    if (CfnElement.isCfnElement(node) && node.stack === stack) local.add(stack.resolve(node.logicalId));
    if (node instanceof sfn.CfnStateMachine && node.node.scope instanceof sfn.StateMachine) {
      const id = node.stack.resolve(node.logicalId);
      // This stack's state machine first: logical ids are unique only within a stack.
      const list = machines.get(id) ?? [];
      machines.set(id, node.stack === stack ? [node.node.scope, ...list] : [...list, node.node.scope]);
    }
  }
  const pseudo: { [name: string]: string } = {
    'AWS::Partition': Aws.PARTITION,
    'AWS::Region': Aws.REGION,
    'AWS::AccountId': Aws.ACCOUNT_ID,
    'AWS::URLSuffix': Aws.URL_SUFFIX,
  };
  const parts: string[] = [];
  for (const part of join[1]) {
    if (typeof part === 'string') {
      parts.push(part);
      continue;
    }
    // `stateMachineArn` of a state machine of the app renders as its `Ref`.
    const ref = String(part.Ref);
    const [machine, ...others] = machines.get(ref) ?? [];
    const sameStack = machine !== undefined && Stack.of(machine) === stack;
    const otherStack = machine !== undefined && !local.has(ref) && others.length === 0;
    const text = pseudo[ref] ?? (sameStack || otherStack ? machine.stateMachineArn : undefined);
    if (text !== undefined) {
      parts.push(text);
    } else if (logicalIds(part).every((id) => local.has(id) || id.startsWith('AWS::'))) {
      parts.push(Token.asString(part));
    } else {
      return undefined;
    }
  }
  return parts.join(join[0]);
}

/** The logical ids an expression refers to (`Ref`, `Fn::GetAtt`). */
function logicalIds(expression: any): string[] {
  if (Array.isArray(expression)) return expression.flatMap(logicalIds);
  if (expression === null || typeof expression !== 'object') return [];
  const own = typeof expression.Ref === 'string' ? [expression.Ref] : [];
  const getAtt = expression['Fn::GetAtt'];
  if (Array.isArray(getAtt)) own.push(String(getAtt[0]));
  return [...own, ...Object.values(expression).flatMap(logicalIds)];
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

function union(needs: ChildNeeds[]): ChildNeeds {
  return {
    start: needs.some((n) => n.start),
    startSync: needs.some((n) => n.startSync),
    executions: needs.some((n) => n.executions),
    managedRule: needs.some((n) => n.managedRule),
    assumeRole: needs.find((n) => n.assumeRole !== undefined)?.assumeRole,
  };
}

/** The grants `needed` asks for that `have` lacks, as IAM actions. */
function missingNeeds(scope: IConstruct, have: ChildNeeds, needed: ChildNeeds): string[] {
  const missing: string[] = [];
  if (needed.assumeRole !== undefined) {
    const stack = Stack.of(scope);
    const same =
      have.assumeRole !== undefined &&
      JSON.stringify(stack.resolve(have.assumeRole)) === JSON.stringify(stack.resolve(needed.assumeRole));
    if (!same) missing.push(`sts:AssumeRole on ${describeValue(scope, needed.assumeRole)}`);
    return missing;
  }
  if (needed.start && !have.start) missing.push('states:StartExecution');
  if (needed.startSync && !have.startSync) missing.push('states:StartSyncExecution');
  if (needed.executions && !have.executions) missing.push('states:DescribeExecution', 'states:StopExecution');
  if (needed.managedRule && !have.managedRule) {
    missing.push('events:PutTargets', 'events:PutRule', 'events:DescribeRule');
  }
  return missing;
}

function describeNeeds(scope: IConstruct, needs: ChildNeeds): string {
  if (needs.assumeRole !== undefined) return `sts:AssumeRole on ${describeValue(scope, needs.assumeRole)}`;
  const actions: string[] = [];
  if (needs.start) actions.push('states:StartExecution');
  if (needs.startSync) actions.push('states:StartSyncExecution');
  if (needs.executions) actions.push('states:DescribeExecution', 'states:StopExecution');
  const pattern = needs.executions || needs.startSync ? 'RUN_JOB' : 'REQUEST_RESPONSE or WAIT_FOR_TASK_TOKEN';
  return `${pattern} (${actions.join(', ')})`;
}

function patternOf(task: NestedTask): string {
  return `sfn.IntegrationPattern.${task.integrationPattern}`;
}
