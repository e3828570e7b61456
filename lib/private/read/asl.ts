import { IntegrationPattern } from 'aws-cdk-lib/aws-stepfunctions';
import {
  QueryLanguage,
  isJsonataExpression,
  jsonataStringLiteral,
  jsonataVariable,
  languageOf,
  pathVariable,
} from './query-language';
import { VariableFlow } from './variables';
import { Json, JsonObject, hasOwn, isIntrinsic, isObject } from '../model/json';
import { displayValue, truncate } from '../model/render';
import { DistributedMapState, NestedTask, WaitingTask } from '../model/tasks';

/**
 * The Amazon States Language reader: walks a definition as JSON and finds every task that starts a child state
 * machine, at any depth, every Distributed Map and every task that waits, with what the role needs to know of each.
 */

/** What the reader found. */
export interface AslTasks {
  readonly nested: NestedTask[];
  /** Tasks that do not start a child: `'<state>' (<resource>)`. */
  readonly others: string[];
  /** Every Distributed Map of the definition, at any depth: each starts a Map Run of the parent itself. */
  readonly distributedMaps: DistributedMapState[];
  /**
   * Every task (of any service) whose `Resource` ends with `.sync`, `.sync:2` or `.waitForTaskToken`, with the kind of
   * execution it runs in: Express executions support only request-response integrations.
   */
  readonly waitingTasks: WaitingTask[];
}

/** Where a state runs: the parent's executions, or the child workflow executions of a Distributed Map. */
export interface RunContext {
  readonly runsIn: WaitingTask['runsIn'];
  readonly mapState?: string;
}

export const IN_PARENT: RunContext = { runsIn: 'parent' };

/** A task integration pattern that waits: a job (`.sync`, `.sync:2`) or a callback (`.waitForTaskToken`). */
const WAITING_SUFFIX = '\\.(?:sync(?::2)?|waitForTaskToken)';
const WAITING_RESOURCE = new RegExp(`${WAITING_SUFFIX}$`);
/** The same suffix anywhere in a text (the pre-filter). */
const WAITING_ANYWHERE = new RegExp(WAITING_SUFFIX);

/** The AWS SDK integrations of Step Functions that start a child. */
const SDK_START_ACTIONS = ['startExecution', 'startSyncExecution'];

// arn:<partition>:states:::states:startExecution[.sync[:2]|.waitForTaskToken], and the AWS SDK integrations that
// start a child: aws-sdk:sfn:startExecution[.waitForTaskToken], aws-sdk:sfn:startSyncExecution.
export const NESTED_RESOURCE = new RegExp(
  '^arn:[^:]+:states:::(?:states:startExecution(\\.sync(?::2)?|\\.waitForTaskToken)?|' +
    `aws-sdk:sfn:(${SDK_START_ACTIONS.join('|')})(\\.waitForTaskToken)?)$`,
);

/** `ItemProcessor.ProcessorConfig.Mode` of a Distributed Map. */
const DISTRIBUTED_MODE = 'DISTRIBUTED';

/**
 * Whether a definition's text may hold what the reader looks for (a task that starts a child, a Distributed Map, or
 * for an Express parent a task that waits): a quick test before parsing, never narrower than the reader.
 */
export function mayHoldNestedWorkflows(text: string, express: boolean): boolean {
  return (
    SDK_START_ACTIONS.some((action) => text.includes(action)) ||
    text.includes(DISTRIBUTED_MODE) ||
    (express && WAITING_ANYWHERE.test(text))
  );
}

/** A `${Name}` definition substitution (and not a CDK token `${Token[...]}`). */
const PLACEHOLDER = /\$\{(?!Token\[)([^}]*)\}/g;

export class DefinitionReader {
  public readonly nested: NestedTask[] = [];
  public readonly others: string[] = [];
  public readonly distributedMaps: DistributedMapState[] = [];
  public readonly waitingTasks: WaitingTask[] = [];
  /** The workflow variables of the graph being read. */
  private flow?: VariableFlow;

  constructor(
    private readonly where: string,
    private readonly substitutions: { [key: string]: string },
  ) {}

  /** What was read so far. */
  public tasks(): AslTasks {
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
    this.flow = new VariableFlow(graph, language);
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
          this.waitingTasks.push({ stateName: name, resource: displayValue(resource), ...frame.context });
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
    if (!isObject(config) || config.Mode !== DISTRIBUTED_MODE) return undefined;
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
        this.others.push(`'${name}' (${field} ${displayValue(resource)})`);
      }
    }
    return map;
  }

  /** Applies the definition substitutions to a string the role needs; a missing one is an error. */
  public substitute(value: string, field: string, stateName: string): string {
    return value.replace(PLACEHOLDER, (_match, key: string) => {
      // Own keys only: `${toString}` or `${constructor}` must not find members of Object.prototype.
      const replacement = hasOwn(this.substitutions, key) ? this.substitutions[key] : undefined;
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
    // Step Functions refuses a Task state without a string Resource (the ASL specification requires one).
    if (typeof state.Resource !== 'string') {
      throw new Error(
        `${this.where}: the Resource of state '${name}' must be a string (an integration ARN such as ` +
          `"arn:<partition>:states:::states:startExecution.sync:2"), got ` +
          (state.Resource === undefined
            ? 'none. Step Functions refuses a Task state without a Resource: give it the ARN of its integration.'
            : notString(state.Resource)),
      );
    }
    const rawResource = state.Resource;
    const resource = this.substitute(rawResource, 'Resource', name);
    const match = NESTED_RESOURCE.exec(resource);
    if (!match) {
      this.others.push(`'${name}' (${displayValue(resource)})`);
      return;
    }
    const [, startSuffix, sdkAction, sdkSuffix] = match;
    // startSyncExecution returns the child's result itself: it is the synchronous path of an Express child.
    const express = sdkAction === 'startSyncExecution';
    let integrationPattern = IntegrationPattern.REQUEST_RESPONSE;
    if (startSuffix === '.waitForTaskToken' || sdkSuffix !== undefined) {
      integrationPattern = IntegrationPattern.WAIT_FOR_TASK_TOKEN;
    }
    if (express || startSuffix?.startsWith('.sync')) integrationPattern = IntegrationPattern.RUN_JOB;

    const jsonata = fieldLanguage(state, language) === 'JSONata';
    const field = jsonata ? 'Arguments' : 'Parameters';
    const args = state[field];
    let stateMachineArns: string[] = [];
    let runtimeArn: string | undefined;
    let constant: string | undefined;
    const path = isObject(args) && !jsonata ? args['StateMachineArn.$'] : undefined;
    const value = isObject(args) ? args.StateMachineArn : undefined;
    const variable =
      typeof path === 'string'
        ? pathVariable(path)
        : jsonata && typeof value === 'string'
          ? jsonataVariable(value)
          : undefined;
    const assigned = variable === undefined ? undefined : this.flow?.valuesAt(state, variable);
    if (variable !== undefined && assigned && !assigned.runtime && assigned.constants.length > 0) {
      // Constants assigned to the variable on the paths that reach this state: each is a child.
      constant = `$${variable}`;
      stateMachineArns = assigned.constants.map((text) => {
        const held = JSON.parse(text) as Json;
        return typeof held === 'string'
          ? this.substitute(held, `${field}.StateMachineArn ($${variable})`, name)
          : JSON.stringify(held);
      });
    } else if (jsonata && typeof args === 'string' && isJsonataExpression(args)) {
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
        if (literal !== value) constant = value;
        stateMachineArns = [this.substitute(literal, `${field}.StateMachineArn`, name)];
      }
    } else {
      throw new Error(
        `${this.where}: state '${name}' starts a child state machine (${displayValue(resource)}) but has no ${field}.StateMachineArn. ` +
          `Name the child in ${field}.StateMachineArn.`,
      );
    }

    const task = {
      stateName: name,
      integrationPattern,
      express,
      runtimeArn,
      constant,
      credentialsRoleArn: this.credentials(name, state, jsonata),
      resource: displayValue(resource),
    };
    if (stateMachineArns.length === 0) this.nested.push(task);
    for (const stateMachineArn of stateMachineArns) this.nested.push({ ...task, stateMachineArn });
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

/** How messages show a value that should have been a string. */
function notString(value: Json): string {
  if (value === null) return 'null';
  const kind = Array.isArray(value) ? 'an array' : isObject(value) ? 'an object' : `a ${typeof value}`;
  return `${kind}: ${truncate(JSON.stringify(value))}`;
}

export function parseJson(text: string, what: string): JsonObject {
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
