import * as fs from 'fs';
import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { stateMachineResourceOf } from './state-machine-arn';

/**
 * Reads an Amazon States Language definition (from a file, a string or a chain of CDK states) and finds every task
 * that starts a child state machine, at any depth, with what the role needs to know about it.
 */

/** A task of the definition that starts a child state machine. */
export interface NestedTask {
  /** The state's name (unique in a state machine). */
  readonly stateName: string;
  readonly integrationPattern: sfn.IntegrationPattern;
  /** True for `aws-sdk:sfn:startSyncExecution`: only an Express child can be started that way. */
  readonly express: boolean;
  /** The child's ARN with substitutions applied (may hold tokens); undefined when chosen at run time. */
  readonly stateMachineArn?: string;
  /** How the state chooses its child at run time (`"StateMachineArn.$": "$.arn"`, a JSONata expression). */
  readonly runtimeArn?: string;
  /** `Credentials.RoleArn`, substitutions applied. */
  readonly credentialsRoleArn?: string;
  /** The task's `Resource`, for messages. */
  readonly resource: string;
}

/** What a definition holds, as far as the parent's role goes. */
export interface DefinitionTasks {
  readonly nested: NestedTask[];
  /** Tasks that do not start a child: `'<state>' (<resource>)`. */
  readonly others: string[];
  /**
   * Statements that aws-cdk-lib task constructs of a chain (`StepFunctionsStartExecution`, `CallAwsService` on
   * `sfn:startSyncExecution`) add to the state machine's role for the children they start: this role grants those
   * children exactly instead.
   */
  readonly replacedStatements: iam.PolicyStatement[];
  /** The `Credentials.RoleArn`s of those tasks (aws-cdk-lib adds `sts:AssumeRole` on each, outside `taskPolicies`). */
  readonly replacedAssumeRoles: string[];
  /** Every Distributed Map of the definition, at any depth: each starts a Map Run of the parent itself. */
  readonly distributedMaps: DistributedMapState[];
  /**
   * Every task (of any service) whose `Resource` ends with `.sync`, `.sync:2` or `.waitForTaskToken`, with the kind of
   * execution it runs in: Express executions support only request-response integrations.
   */
  readonly waitingTasks: WaitingTask[];
}

/** A Map state whose `ItemProcessor.ProcessorConfig.Mode` is `DISTRIBUTED`. */
export interface DistributedMapState {
  readonly stateName: string;
  /** `Label` (the Map Run's name in its child executions' ARNs), undefined when the state has none. */
  readonly label?: string;
  /** `ItemProcessor.ProcessorConfig.ExecutionType`: the type of the Map Run's child workflow executions. */
  readonly executionType: 'STANDARD' | 'EXPRESS';
  /** An `sfn.DistributedMap` of a chain: aws-cdk-lib attaches its own `DistributedMapPolicy` to the role for it. */
  readonly cdkDistributedMap: boolean;
}

/** A task that waits for a job or a callback (`.sync`, `.sync:2`, `.waitForTaskToken`). */
export interface WaitingTask {
  readonly stateName: string;
  /** The task's `Resource`, for messages. */
  readonly resource: string;
  /**
   * The execution it runs in: `parent` (the parent's own executions, whatever their type), or the child workflow
   * executions of the innermost Distributed Map around it (`STANDARD` or `EXPRESS`), named by `mapState`.
   */
  readonly runsIn: 'parent' | 'STANDARD' | 'EXPRESS';
  readonly mapState?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type QueryLanguage = 'JSONPath' | 'JSONata';

/** Where a state runs: the parent's executions, or the child workflow executions of a Distributed Map. */
interface RunContext {
  readonly runsIn: WaitingTask['runsIn'];
  readonly mapState?: string;
}

const IN_PARENT: RunContext = { runsIn: 'parent' };

/** A task integration pattern that waits: a job (`.sync`, `.sync:2`) or a callback (`.waitForTaskToken`). */
const WAITING_RESOURCE = /\.(?:sync(?::2)?|waitForTaskToken)$/;

// arn:<partition>:states:::states:startExecution[.sync[:2]|.waitForTaskToken], and the AWS SDK integrations that
// start a child: aws-sdk:sfn:startExecution[.waitForTaskToken], aws-sdk:sfn:startSyncExecution.
const NESTED_RESOURCE =
  /^arn:[^:]+:states:::(?:states:startExecution(\.sync(?::2)?|\.waitForTaskToken)?|aws-sdk:sfn:(startExecution|startSyncExecution)(\.waitForTaskToken)?)$/;

/** A `${Name}` definition substitution (and not a CDK token `${Token[...]}`). */
const PLACEHOLDER = /\$\{(?!Token\[)([^}]*)\}/g;

/**
 * Reads a definition body.
 *
 * @param where how messages name the definition's owner, e.g. the construct path
 * @throws on a definition that is not valid JSON or not a state machine, a `${Name}` without substitution where the
 *   role needs it, a run-time credentials role
 */
export function readDefinition(
  where: string,
  body: sfn.DefinitionBody,
  substitutions: { [key: string]: string } = {},
): DefinitionTasks {
  const reader = new DefinitionReader(where, substitutions);
  if (body instanceof sfn.ChainDefinitionBody) {
    const replacedStatements: iam.PolicyStatement[] = [];
    const replacedAssumeRoles: string[] = [];
    readChain(reader, body.chainable, replacedStatements, replacedAssumeRoles);
    return { ...reader.tasks(), replacedStatements, replacedAssumeRoles };
  }
  let definition: JsonObject;
  if (body instanceof sfn.FileDefinitionBody) {
    let text: string;
    try {
      text = fs.readFileSync(body.path, 'utf-8');
    } catch (e) {
      throw new Error(`${where}: \`definitionBody\` cannot read the file ${body.path}: ${(e as Error).message}`);
    }
    definition = parseJson(text, `${where}: \`definitionBody\` file ${body.path}`);
  } else if (body instanceof sfn.StringDefinitionBody) {
    definition = parseJson(body.body, `${where}: \`definitionBody\` (DefinitionBody.fromString)`);
  } else {
    throw new Error(
      `${where}: \`definitionBody\` must come from sfn.DefinitionBody.fromFile, fromString or fromChainable, got: ${body.constructor.name}`,
    );
  }
  if (!isObject(definition.States)) {
    throw new Error(
      `${where}: \`definitionBody\` must be an Amazon States Language definition with a "States" object, got: ${truncate(JSON.stringify(definition))}`,
    );
  }
  reader.readGraph(definition, languageOf(definition) ?? 'JSONPath');
  return { ...reader.tasks(), replacedStatements: [], replacedAssumeRoles: [] };
}

class DefinitionReader {
  public readonly nested: NestedTask[] = [];
  public readonly others: string[] = [];
  public readonly distributedMaps: DistributedMapState[] = [];
  public readonly waitingTasks: WaitingTask[] = [];

  constructor(
    private readonly where: string,
    private readonly substitutions: { [key: string]: string },
  ) {}

  /** What was read so far. */
  public tasks(): Pick<DefinitionTasks, 'nested' | 'others' | 'distributedMaps' | 'waitingTasks'> {
    return {
      nested: this.nested,
      others: this.others,
      distributedMaps: this.distributedMaps,
      waitingTasks: this.waitingTasks,
    };
  }

  /**
   * Reads the states of a definition, a Parallel branch or a Map's iterator / item processor, and every graph nested
   * in them, depth first, in document order. The walk keeps its own stack: Step Functions accepts definitions nested
   * far deeper than the JavaScript call stack allows (thousands of Parallel states within its 1 MB limit).
   *
   * @param cdkDistributedMap a Map state of `graph` that is an `sfn.DistributedMap` of a chain (aws-cdk-lib grants it)
   */
  public readGraph(
    graph: JsonObject,
    language: QueryLanguage,
    context: RunContext = IN_PARENT,
    cdkDistributedMap?: string,
  ): void {
    const frames: GraphFrame[] = [frameOf(graph, language, context)];
    while (frames.length > 0) {
      const frame = frames[frames.length - 1];
      const entry = frame.states[frame.index++];
      if (entry === undefined) {
        frames.pop();
        continue;
      }
      const [name, state] = entry;
      if (!isObject(state)) continue;
      const stateLanguage = languageOf(state) ?? frame.language;
      const inner: GraphFrame[] = [];
      if (Array.isArray(state.Branches)) {
        for (const branch of state.Branches) {
          if (isObject(branch)) inner.push(frameOf(branch, languageOf(branch) ?? frame.language, frame.context));
        }
      }
      const distributed =
        state.Type === 'Map' ? this.readMap(name, state, frames.length === 1 && name === cdkDistributedMap) : undefined;
      for (const key of ['Iterator', 'ItemProcessor']) {
        const processor = state[key];
        if (!isObject(processor)) continue;
        const innerContext = distributed ? { runsIn: distributed.executionType, mapState: name } : frame.context;
        inner.push(frameOf(processor, languageOf(processor) ?? frame.language, innerContext));
      }
      if (state.Type === 'Task') {
        const resource = typeof state.Resource === 'string' ? state.Resource : '';
        if (WAITING_RESOURCE.test(resource)) {
          this.waitingTasks.push({ stateName: name, resource: display(resource), ...frame.context });
        }
        this.readTask(name, state, stateLanguage);
      }
      // The nested graphs are read before the next state of this one, the first branch first.
      frames.push(...inner.reverse());
    }
  }

  /**
   * A Distributed Map (`ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED`), or undefined for an inline Map. Its
   * `ItemReader` and `ResultWriter` are not nested workflows: they are listed with the tasks this role does not grant,
   * unless aws-cdk-lib grants them (an `sfn.DistributedMap` of a chain).
   */
  private readMap(name: string, state: JsonObject, cdkDistributedMap: boolean): DistributedMapState | undefined {
    const processor = state.ItemProcessor;
    const config = isObject(processor) ? processor.ProcessorConfig : undefined;
    if (!isObject(config) || config.Mode !== 'DISTRIBUTED') return undefined;
    const map: DistributedMapState = {
      stateName: name,
      label: typeof state.Label === 'string' ? state.Label : undefined,
      executionType: config.ExecutionType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
      cdkDistributedMap,
    };
    this.distributedMaps.push(map);
    if (!cdkDistributedMap) {
      for (const field of ['ItemReader', 'ResultWriter']) {
        const value = state[field];
        if (!isObject(value)) continue;
        const resource = typeof value.Resource === 'string' ? value.Resource : '';
        this.others.push(`'${name}' (${field} ${display(resource)})`);
      }
    }
    return map;
  }

  /** Applies the definition substitutions to a string the role needs; a missing one is an error. */
  public substitute(value: string, field: string, stateName: string): string {
    return value.replace(PLACEHOLDER, (_match, key: string) => {
      // Own keys only: `${toString}` or `${constructor}` must not find members of Object.prototype.
      const replacement = Object.prototype.hasOwnProperty.call(this.substitutions, key)
        ? this.substitutions[key]
        : undefined;
      if (replacement === undefined) {
        const known = Object.keys(this.substitutions);
        throw new Error(
          `${this.where}: state '${stateName}' uses \${${key}} in its ${field}, but \`definitionSubstitutions\` has no \`${key}\`` +
            (known.length > 0 ? ` (it has: ${known.join(', ')})` : '') +
            `. Pass the same \`definitionSubstitutions\` as the state machine's, with \`${key}\`.`,
        );
      }
      return replacement;
    });
  }

  private readTask(name: string, state: JsonObject, language: QueryLanguage): void {
    if (state.Resource !== undefined && typeof state.Resource !== 'string') {
      throw new Error(
        `${this.where}: the Resource of state '${name}' must be a string (an integration ARN such as ` +
          `"arn:<partition>:states:::states:startExecution.sync:2"), got ${notString(state.Resource)}`,
      );
    }
    const rawResource = state.Resource ?? '';
    const resource = this.substitute(rawResource, 'Resource', name);
    const match = NESTED_RESOURCE.exec(resource);
    if (!match) {
      this.others.push(`'${name}' (${display(resource)})`);
      return;
    }
    const [, startSuffix, sdkAction, sdkSuffix] = match;
    // startSyncExecution returns the child's result itself: it is the synchronous path of an Express child.
    const express = sdkAction === 'startSyncExecution';
    let integrationPattern = sfn.IntegrationPattern.REQUEST_RESPONSE;
    if (startSuffix === '.waitForTaskToken' || sdkSuffix !== undefined) {
      integrationPattern = sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN;
    }
    if (express || startSuffix?.startsWith('.sync')) integrationPattern = sfn.IntegrationPattern.RUN_JOB;

    const jsonata = fieldLanguage(state, language) === 'JSONata';
    const field = jsonata ? 'Arguments' : 'Parameters';
    const args = state[field];
    let stateMachineArn: string | undefined;
    let runtimeArn: string | undefined;
    const path = isObject(args) && !jsonata ? args['StateMachineArn.$'] : undefined;
    const value = isObject(args) ? args.StateMachineArn : undefined;
    if (jsonata && typeof args === 'string' && isJsonataExpression(args)) {
      runtimeArn = `"Arguments": "${args}"`;
    } else if (typeof path === 'string') {
      runtimeArn = `"StateMachineArn.$": "${path}"`;
    } else if (path !== undefined || (value !== undefined && typeof value !== 'string')) {
      const key = path !== undefined ? 'StateMachineArn.$' : 'StateMachineArn';
      throw new Error(
        `${this.where}: the ${field}.${key} of state '${name}' must be a string, got ${notString(path ?? value!)}` +
          (isIntrinsic(path ?? value!)
            ? '. CDK does not resolve CloudFormation intrinsics inside a definition (SAM and the Serverless Framework render ' +
              'them before deploying). Write "StateMachineArn": "${ChildArn}" and pass ' +
              '`definitionSubstitutions: { ChildArn: child.stateMachineArn }` to both the state machine and NestedWorkflowRole.'
            : '. Name the child by its ARN: "StateMachineArn": "arn:<partition>:states:<region>:<account>:stateMachine:<name>", ' +
              'or "${ChildArn}" with `definitionSubstitutions`.'),
      );
    } else if (typeof value === 'string') {
      const literal = jsonata ? jsonataStringLiteral(value) : value;
      if (literal === undefined) {
        runtimeArn = `"StateMachineArn": "${value}"`;
      } else {
        stateMachineArn = this.substitute(literal, `${field}.StateMachineArn`, name);
      }
    } else {
      throw new Error(
        `${this.where}: state '${name}' starts a child state machine (${display(resource)}) but has no ${field}.StateMachineArn. ` +
          `Name the child in ${field}.StateMachineArn.`,
      );
    }

    this.nested.push({
      stateName: name,
      integrationPattern,
      express,
      stateMachineArn,
      runtimeArn,
      credentialsRoleArn: this.credentials(name, state, jsonata),
      resource: display(resource),
    });
  }

  /** `Credentials.RoleArn`: a role known at synthesis, or an error. */
  private credentials(name: string, state: JsonObject, jsonata: boolean): string | undefined {
    const credentials = state.Credentials;
    if (credentials === undefined) return undefined;
    const roleArn = isObject(credentials) ? credentials.RoleArn : undefined;
    const runtime = isObject(credentials)
      ? (credentials['RoleArn.$'] ??
        (jsonata && typeof roleArn === 'string' && isJsonataExpression(roleArn) ? roleArn : undefined))
      : credentials;
    if (runtime !== undefined || typeof roleArn !== 'string') {
      throw new Error(
        `${this.where}: state '${name}' takes its Credentials role at run time (${truncate(JSON.stringify(credentials))}), which sts:AssumeRole cannot be scoped to. ` +
          'Name the role in the definition: "Credentials": { "RoleArn": "arn:<partition>:iam::<account>:role/<name>" }.',
      );
    }
    return this.substitute(roleArn, 'Credentials.RoleArn', name);
  }
}

/**
 * Reads a chain of CDK states without binding it to a graph (the state machine does that): every task, at any depth,
 * rendered on its own, and the statements of the tasks that start children.
 */
function readChain(
  reader: DefinitionReader,
  chainable: sfn.IChainable,
  replacedStatements: iam.PolicyStatement[],
  replacedAssumeRoles: string[],
): void {
  for (const { state, context } of allStates(chainable.startState)) {
    if (state instanceof sfn.MapBase) {
      // Only the Map's own fields are read here: the states of its item processor are walked as objects.
      const json = state.toStateJson() as JsonObject;
      const processor = isObject(json.ItemProcessor) ? { ...json.ItemProcessor, States: {} } : undefined;
      const mapOnly = { ...json, Iterator: undefined, ItemProcessor: processor } as unknown as JsonObject;
      const cdkDistributedMap = state instanceof sfn.DistributedMap ? state.stateId : undefined;
      reader.readGraph({ States: { [state.stateId]: mapOnly } }, 'JSONPath', context, cdkDistributedMap);
      continue;
    }
    // Parallel states are walked as objects (a Parallel renders its branches only once bound to a graph).
    if (!(state instanceof sfn.TaskStateBase || state instanceof sfn.CustomState)) continue;
    const json = state.toStateJson() as JsonObject;
    const others = reader.others.length;
    reader.readGraph({ States: { [state.stateId]: json } }, 'JSONPath', context);
    if (!(state instanceof sfn.TaskStateBase)) continue;
    // `taskPolicies` is protected: the statements a task adds to the state machine's role when it is bound.
    const policies = (state as unknown as { taskPolicies?: iam.PolicyStatement[] }).taskPolicies ?? [];
    if (typeof json.Resource !== 'string' || !NESTED_RESOURCE.test(json.Resource)) {
      // A task construct that brings its own statements (LambdaInvoke, CallAwsService, ...) is granted by them.
      if (policies.length > 0) reader.others.splice(others);
      continue;
    }
    replacedStatements.push(...policies);
    const credentials = json.Credentials;
    if (isObject(credentials) && typeof credentials.RoleArn === 'string') replacedAssumeRoles.push(credentials.RoleArn);
  }
}

/**
 * Every state of a chain, inside Parallel branches and Map iterators and item processors too, with the execution it
 * runs in. Walked with its own stack, like `readGraph`, whatever the depth.
 */
function* allStates(start: sfn.State): Generator<{ state: sfn.State; context: RunContext }> {
  const pending: Array<{ start: sfn.State; context: RunContext }> = [{ start, context: IN_PARENT }];
  const seen = new Set<sfn.State>();
  while (pending.length > 0) {
    const { start: first, context } = pending.pop()!;
    const inner: Array<{ start: sfn.State; context: RunContext }> = [];
    for (const state of sfn.State.findReachableStates(first, { includeErrorHandlers: true })) {
      if (seen.has(state)) continue;
      seen.add(state);
      yield { state, context };
      // Members of sfn.State and sfn.Parallel that are not public: the graphs nested in Parallel and Map states, and
      // the branches a Parallel keeps until it is bound to a graph.
      const nested = state as unknown as {
        branches?: sfn.StateGraph[];
        _branches?: sfn.IChainable[];
        iteration?: sfn.StateGraph;
        processor?: sfn.StateGraph;
        processorMode?: sfn.ProcessorMode;
        processorConfig?: sfn.ProcessorConfig;
        mapExecutionType?: sfn.StateMachineType;
      };
      for (const graph of [...(nested.branches ?? []), ...(nested._branches ?? []), nested.iteration]) {
        if (graph) inner.push({ start: graph.startState, context });
      }
      if (nested.processor) {
        inner.push({ start: nested.processor.startState, context: processorContext(state, nested, context) });
      }
    }
    pending.push(...inner.reverse());
  }
}

/** The execution the item processor of a Map of a chain runs in. */
function processorContext(
  state: sfn.State,
  map: {
    processorConfig?: sfn.ProcessorConfig;
    processorMode?: sfn.ProcessorMode;
    mapExecutionType?: sfn.StateMachineType;
  },
  context: RunContext,
): RunContext {
  if (state instanceof sfn.DistributedMap) {
    const express = map.mapExecutionType === sfn.StateMachineType.EXPRESS;
    return { runsIn: express ? 'EXPRESS' : 'STANDARD', mapState: state.stateId };
  }
  const config = map.processorConfig;
  if ((config?.mode ?? map.processorMode) !== sfn.ProcessorMode.DISTRIBUTED) return context;
  return {
    runsIn: config?.executionType === sfn.ProcessorType.EXPRESS ? 'EXPRESS' : 'STANDARD',
    mapState: state.stateId,
  };
}

/** A graph being walked: its states and the next one to read. */
interface GraphFrame {
  readonly states: Array<[string, Json]>;
  index: number;
  readonly language: QueryLanguage;
  readonly context: RunContext;
}

function frameOf(graph: JsonObject, language: QueryLanguage, context: RunContext): GraphFrame {
  const states = graph.States;
  return { states: isObject(states) ? Object.entries(states) : [], index: 0, language, context };
}

/**
 * The language of a task's fields: the state's (or inherited) `QueryLanguage`, unless the state holds only the other
 * language's field (`Arguments` is JSONata's, `Parameters` JSONPath's).
 */
function fieldLanguage(state: JsonObject, language: QueryLanguage): QueryLanguage {
  const hasArguments = state.Arguments !== undefined;
  const hasParameters = state.Parameters !== undefined;
  if (hasArguments && !hasParameters) return 'JSONata';
  if (hasParameters && !hasArguments) return 'JSONPath';
  return language;
}

function languageOf(node: JsonObject): QueryLanguage | undefined {
  const value = node.QueryLanguage;
  return value === 'JSONata' || value === 'JSONPath' ? value : undefined;
}

function isJsonataExpression(value: string): boolean {
  const trimmed = value.trim();
  return trimmed.startsWith('{%') && trimmed.endsWith('%}');
}

/**
 * The value of a JSONata field: the text itself, or the string of an expression that is one string literal without
 * escapes (`{% 'arn:...' %}`), which JSONata evaluates to exactly that text; undefined for any other expression.
 */
function jsonataStringLiteral(value: string): string | undefined {
  if (!isJsonataExpression(value)) return value;
  const literal = /^\s*\{%\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*%\}\s*$/.exec(value);
  return literal ? (literal[1] ?? literal[2]) : undefined;
}

/** A CloudFormation intrinsic function object (`{"Ref": ...}`, `{"Fn::Join": ...}`), as SAM or Serverless write them. */
function isIntrinsic(value: Json): boolean {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/** How messages show a value that should have been a string. */
function notString(value: Json): string {
  if (value === null) return 'null';
  const kind = Array.isArray(value) ? 'an array' : isObject(value) ? 'an object' : `a ${typeof value}`;
  return `${kind}: ${truncate(JSON.stringify(value))}`;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string, what: string): JsonObject {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (e) {
    throw new Error(
      `${what} is not valid JSON: ${(e as Error).message}. Fix the definition (Workflow Studio can export it).`,
    );
  }
  if (!isObject(value)) {
    throw new Error(`${what} must be a JSON object (an Amazon States Language definition), got: ${truncate(text)}`);
  }
  return value;
}

/** A resource for messages: the partition pseudo parameter as `<partition>`, other tokens as `<token>`. */
function display(value: string): string {
  if (!Token.isUnresolved(value)) return value;
  return value
    .replace(/\$\{Token\[AWS\.Partition\.\d+\]\}/g, '<partition>')
    .replace(/\$\{Token\[[^\]]*\]\}/g, '<token>');
}

function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * The state machine defined in this app whose ARN `arn` is exactly (a substitution `child.stateMachineArn`), so that
 * it is read from its own resource like a child passed to `addChild`. An alias or version of it
 * (`${child.stateMachineArn}:PROD`) stays a string: `stateMachineParts` reads it from the same resource.
 */
export function stateMachineOfArn(arn: string): sfn.IStateMachine | undefined {
  const resource = stateMachineResourceOf(arn);
  const scope = resource?.node.scope;
  return scope instanceof sfn.StateMachine ? scope : undefined;
}
