import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { IConstruct } from 'constructs';
import { DefinitionReader, IN_PARENT, NESTED_RESOURCE, RunContext } from './asl';
import { JsonObject, isObject } from '../model/json';

/**
 * The aws-cdk-lib chain walker: the only code that touches aws-cdk-lib members that are not public (`taskPolicies`,
 * `branches`, `_branches`, `iteration`, `processor`, `processorMode`, `processorConfig`, `mapExecutionType`).
 * test/read/aws-cdk-lib-internals.test.ts checks their shape on every aws-cdk-lib version under test.
 */

/**
 * Reads a chain of CDK states without binding it to a graph (the state machine does that): every task, at any depth,
 * rendered on its own, and the statements of the tasks that start children.
 */
export function readChain(
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
    const grants = taskGrants(state, json);
    if (grants === undefined) {
      // A task construct that brings its own statements (LambdaInvoke, CallAwsService, ...) is granted by them.
      if (taskPoliciesOf(state).length > 0) reader.others.splice(others);
      continue;
    }
    replacedStatements.push(...grants.statements);
    if (grants.assumeRole !== undefined) replacedAssumeRoles.push(grants.assumeRole);
  }
}

/**
 * The statements aws-cdk-lib's tasks add to a state machine's role for the children they start, for a definition
 * read from what a state machine deploys (its rendered chain: the chain itself is not at hand). The tasks are the
 * states of the app named `stateNames` (the states of that definition that start children).
 */
export function taskGrantsIn(
  root: IConstruct,
  stateNames: ReadonlySet<string>,
): { replacedStatements: iam.PolicyStatement[]; replacedAssumeRoles: string[] } {
  const replacedStatements: iam.PolicyStatement[] = [];
  const replacedAssumeRoles: string[] = [];
  for (const node of root.node.findAll()) {
    if (!(node instanceof sfn.TaskStateBase) || !stateNames.has(node.stateId)) continue;
    const grants = taskGrants(node, node.toStateJson() as JsonObject);
    if (grants === undefined) continue;
    replacedStatements.push(...grants.statements);
    if (grants.assumeRole !== undefined) replacedAssumeRoles.push(grants.assumeRole);
  }
  return { replacedStatements, replacedAssumeRoles };
}

/** The statements of a task that starts a child, and its `Credentials.RoleArn`; undefined for any other task. */
function taskGrants(
  state: sfn.TaskStateBase,
  json: JsonObject,
): { statements: iam.PolicyStatement[]; assumeRole?: string } | undefined {
  if (typeof json.Resource !== 'string' || !NESTED_RESOURCE.test(json.Resource)) return undefined;
  const credentials = json.Credentials;
  const assumeRole = isObject(credentials) && typeof credentials.RoleArn === 'string' ? credentials.RoleArn : undefined;
  return { statements: taskPoliciesOf(state), assumeRole };
}

/** `taskPolicies` is protected: the statements a task adds to the state machine's role when it is bound. */
function taskPoliciesOf(state: sfn.TaskStateBase): iam.PolicyStatement[] {
  return (state as unknown as { taskPolicies?: iam.PolicyStatement[] }).taskPolicies ?? [];
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
