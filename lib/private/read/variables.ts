import {
  QueryLanguage,
  isJsonataExpression,
  jsonataStringLiteral,
  jsonataVariable,
  languageOf,
  pathVariable,
} from './query-language';
import { Json, JsonObject, isObject } from '../model/json';

/**
 * Workflow variables: what each variable may hold when each state is entered, over every path of the definition.
 *
 * Follows "Passing data between states with variables" (Step Functions developer guide):
 * - `Assign` (Pass, Task, Map, Parallel, Choice, Wait, Choice rules and Catchers) takes effect when the state is left,
 *   and every value in it reads the variables as they were when the state was entered;
 * - a Catcher's `Assign` replaces the state's own; a Choice rule's `Assign` applies when that rule matches and the
 *   Choice state's own `Assign` when `Default` is taken (a rule's edge also takes the state's `Assign` before the
 *   rule's: the safe reading, since both reach the same state);
 * - Parallel branches and inline Map iterations see the variables of the scopes around them; what they assign does not
 *   flow out; a Distributed Map's child workflow executions see none of the outer variables.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
 */

/** What a variable may hold where a state is entered. */
export interface VariableValues {
  /** The constant values it may hold (JSON texts), from literals in `Assign`. */
  readonly constants: string[];
  /** True when some path assigns it a value known only at run time (a path into the input, an expression). */
  readonly runtime: boolean;
  /** True when some path reaches the state without assigning it. */
  readonly unset: boolean;
}

type Env = Map<string, VariableValues>;

const UNSET: VariableValues = { constants: [], runtime: false, unset: true };
const RUNTIME: VariableValues = { constants: [], runtime: true, unset: false };

/** The variables of a definition, read once; then asked, state by state, what a variable holds on entry. */
export class VariableFlow {
  private readonly entries = new Map<JsonObject, Env>();

  /** Walks `graph` and every graph nested in it, with a queue (no recursion: definitions can be deep). */
  constructor(graph: JsonObject, language: QueryLanguage) {
    const queue: Array<[JsonObject, Env, QueryLanguage]> = [[graph, new Map(), languageOf(graph) ?? language]];
    for (let i = 0; i < queue.length; i++) {
      const [next, entry, nextLanguage] = queue[i];
      const states = isObject(next.States) ? next.States : {};
      for (const [name, env] of flowGraph(states, next.StartAt, entry, nextLanguage)) {
        const state = states[name] as JsonObject;
        this.entries.set(state, env);
        const stateLanguage = languageOf(state) ?? nextLanguage;
        for (const [inner, distributed] of innerGraphs(state)) {
          queue.push([inner, distributed ? new Map() : env, languageOf(inner) ?? stateLanguage]);
        }
      }
    }
  }

  /** What `name` may hold when `state` is entered; undefined for a state no path reaches. */
  public valuesAt(state: JsonObject, name: string): VariableValues | undefined {
    const env = this.entries.get(state);
    return env === undefined ? undefined : (env.get(name) ?? UNSET);
  }
}

/** The entry environment of every state of one graph that a path from `StartAt` reaches: a fixpoint. */
function flowGraph(states: JsonObject, start: Json | undefined, entry: Env, language: QueryLanguage): Map<string, Env> {
  const entries = new Map<string, Env>();
  if (typeof start !== 'string' || !isObject(states[start])) return entries;
  entries.set(start, entry);
  const work = [start];
  while (work.length > 0) {
    const name = work.pop()!;
    const state = states[name] as JsonObject;
    const stateLanguage = languageOf(state) ?? language;
    for (const [target, env] of edges(state, entries.get(name)!, stateLanguage)) {
      if (!isObject(states[target])) continue;
      const previous = entries.get(target);
      const joined = previous === undefined ? env : join(previous, env);
      if (previous === undefined || !same(previous, joined)) {
        entries.set(target, joined);
        work.push(target);
      }
    }
  }
  return entries;
}

/** Where a state can go, and with what variables. */
function edges(state: JsonObject, env: Env, language: QueryLanguage): Array<[string, Env]> {
  const out: Array<[string, Env]> = [];
  const own = assign(env, state.Assign, language);
  if (typeof state.Next === 'string') out.push([state.Next, own]);
  if (typeof state.Default === 'string') out.push([state.Default, own]);
  for (const rule of Array.isArray(state.Choices) ? state.Choices : []) {
    if (!isObject(rule) || typeof rule.Next !== 'string') continue;
    out.push([rule.Next, join(assign(env, rule.Assign, language), assign(own, rule.Assign, language))]);
  }
  for (const catcher of Array.isArray(state.Catch) ? state.Catch : []) {
    if (isObject(catcher) && typeof catcher.Next === 'string') {
      out.push([catcher.Next, assign(env, catcher.Assign, language)]);
    }
  }
  return out;
}

/** The graphs nested in a state, each with whether it is a Distributed Map's item processor. */
function innerGraphs(state: JsonObject): Array<[JsonObject, boolean]> {
  const graphs: Array<[JsonObject, boolean]> = [];
  for (const branch of Array.isArray(state.Branches) ? state.Branches : []) {
    if (isObject(branch)) graphs.push([branch, false]);
  }
  for (const key of ['Iterator', 'ItemProcessor']) {
    const processor = state[key];
    if (!isObject(processor)) continue;
    const config = processor.ProcessorConfig;
    graphs.push([processor, isObject(config) && config.Mode === 'DISTRIBUTED']);
  }
  return graphs;
}

/** The variables after an `Assign`: each value reads `env`, the variables on entry. */
function assign(env: Env, values: Json | undefined, language: QueryLanguage): Env {
  if (!isObject(values)) return env;
  const out = new Map(env);
  for (const [key, value] of Object.entries(values)) {
    if (language === 'JSONPath' && key.endsWith('.$')) {
      const copied = typeof value === 'string' ? pathVariable(value) : undefined;
      out.set(key.slice(0, -2), copied === undefined ? RUNTIME : (env.get(copied) ?? UNSET));
    } else if (language === 'JSONata' && typeof value === 'string' && isJsonataExpression(value)) {
      const copied = jsonataVariable(value);
      const literal = jsonataStringLiteral(value);
      out.set(
        key,
        copied !== undefined ? (env.get(copied) ?? UNSET) : literal !== undefined ? constant(literal) : RUNTIME,
      );
    } else {
      out.set(key, holdsExpression(value, language) ? RUNTIME : constant(value));
    }
  }
  return out;
}

function constant(value: Json): VariableValues {
  return { constants: [JSON.stringify(value)], runtime: false, unset: false };
}

/** Whether a JSON value holds a JSONPath path (`"key.$"`) or a JSONata expression, at any depth. */
function holdsExpression(value: Json, language: QueryLanguage): boolean {
  const stack: Json[] = [value];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (typeof next === 'string' && language === 'JSONata' && isJsonataExpression(next)) return true;
    if (Array.isArray(next)) stack.push(...next);
    if (isObject(next)) {
      if (language === 'JSONPath' && Object.keys(next).some((k) => k.endsWith('.$'))) return true;
      stack.push(...Object.values(next));
    }
  }
  return false;
}

function join(a: Env, b: Env): Env {
  const out: Env = new Map();
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(name) ?? UNSET;
    const y = b.get(name) ?? UNSET;
    out.set(name, {
      constants: [...new Set([...x.constants, ...y.constants])].sort(),
      runtime: x.runtime || y.runtime,
      unset: x.unset || y.unset,
    });
  }
  return out;
}

function same(a: Env, b: Env): boolean {
  const text = (env: Env) => JSON.stringify([...env.entries()].sort(([x], [y]) => (x < y ? -1 : 1)));
  return text(a) === text(b);
}
