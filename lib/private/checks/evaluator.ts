import { isObject, Json, JsonObject } from '../model/json';
import { escapeRegExp } from '../model/render';
import { isOpaqueMarker, markersIn, PSEUDO_MARKERS } from '../read/template-reader';

/**
 * A small IAM identity-policy evaluator for the checks: glob matching of `Action`/`NotAction` (case-insensitive) and
 * `Resource`/`NotResource` (case-sensitive), explicit `Deny` wins. Conditions are evaluated only on the context keys
 * of the call (`states:StateMachineQualifier`); any other condition makes a statement undecidable, never guessed.
 * Checked against the IAM simulator in the tests, on the same policies.
 */

/** A call Step Functions makes on the parent's behalf. */
export interface Call {
  readonly action: string;
  readonly resource: string;
  /** Request context keys, e.g. `states:StateMachineQualifier`. */
  readonly context?: { [key: string]: string };
}

/** A call as a key: the same action (IAM compares actions without case), resource and context. */
export function callKey(call: Call): string {
  return JSON.stringify([call.action.toLowerCase(), call.resource, call.context ?? null]);
}

/** A policy document and where it comes from (for messages and the `DependsOn` check). */
export interface SourcedPolicy {
  readonly document: JsonObject;
  /** The template resource holding it (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, or the role for `Policies`). */
  readonly logicalId: string;
  /** How messages name it, e.g. `ParentRoleDefaultPolicy (AWS::IAM::Policy)`. */
  readonly label: string;
}

export type Tri = 'yes' | 'no' | 'maybe';

export interface StatementRef {
  readonly policy: SourcedPolicy;
  readonly index: number;
  readonly statement: JsonObject;
}

export interface Decision {
  readonly decision: 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | 'Undecidable';
  /** The Allow statements that (may) allow the call. */
  readonly allowedBy: StatementRef[];
  /** The Allow statements that allow the call (not only may). */
  readonly allowing: StatementRef[];
  /** Why the decision is undecidable. */
  readonly reasons: string[];
}

/** Every statement of the policies. */
export function statementsOf(policies: SourcedPolicy[]): StatementRef[] {
  const refs: StatementRef[] = [];
  for (const policy of policies) {
    const statements = policy.document.Statement;
    const list = Array.isArray(statements) ? statements : [statements];
    list.forEach((statement, index) => {
      if (isObject(statement)) refs.push({ policy, index, statement });
    });
  }
  return refs;
}

/**
 * Decides `call` against the policies. Where the stack's partition, region or account is not known (a marker),
 * every value the policies name literally there is tried too: a decision that depends on it is undecidable; denied
 * in every world (implicitly or explicitly) is denied.
 */
export function decide(policies: SourcedPolicy[], call: Call): Decision {
  const prepared = prepare(policies);
  const worlds = pseudoWorlds(call, prepared);
  const decisions = worlds.map((world) => decideIn(prepared.compiled(world), substituteCall(call, world)));
  const first = decisions[0];
  const allowed = (d: Decision) => d.decision === 'Allowed';
  const denied = (d: Decision) => d.decision === 'ImplicitlyDenied' || d.decision === 'ExplicitlyDenied';
  if (decisions.every((d) => d.decision === first.decision)) return first;
  if (decisions.every(denied)) {
    // Denied everywhere: the same answer for the checks (an implicit Deny where a policy outside might still allow).
    return decisions.find((d) => d.decision === 'ImplicitlyDenied')!;
  }
  const other = decisions.find((d) => d.decision !== first.decision)!;
  const world = worlds[decisions.indexOf(other)];
  const named = Object.entries(world)
    .map(([m, v]) => `${m.slice(1, -1)} = ${v}`)
    .join(', ');
  return {
    decision: 'Undecidable',
    allowedBy: [...first.allowedBy, ...other.allowedBy],
    allowing: decisions.every((d) => allowed(d) || d.decision === 'Undecidable') ? first.allowing : [],
    reasons: [`${ENVIRONMENT_REASON} (it differs when ${named})`],
  };
}

/** The reason of a decision that depends on the stack's unknown environment (NWR4 says how to give it). */
export const ENVIRONMENT_REASON = "the answer depends on the stack's environment";

type World = { [marker: string]: string };

/** A statement compiled for matching: its fields as matchers, its conditions as they are. */
interface CompiledStatement {
  readonly ref: StatementRef;
  readonly statement: JsonObject;
  readonly action: FieldMatcher;
  readonly resource: FieldMatcher;
}

/** `Action`/`NotAction` or `Resource`/`NotResource`: literal patterns in a set, the others tried one by one. */
interface FieldMatcher {
  readonly negated: boolean;
  readonly present: boolean;
  readonly exact: Set<string>;
  /** The other patterns by their literal start (before the first `*`, `?` or unknown value): only those can match. */
  readonly patterns: Map<string, string[]>;
  /** The lengths of those starts. */
  readonly prefixLengths: number[];
  /** A pattern that is not a string (an unresolved object): matches `maybe`. */
  readonly opaque: boolean;
  readonly ignoreCase: boolean;
}

/** The policies of one role, compiled once (a role's policies are asked about every call of its parents). */
interface Prepared {
  /** The literal values the statements name at each marker's place of an ARN. */
  readonly candidates: { [marker: string]: Set<string> };
  /** The markers the statements hold. */
  readonly present: Set<string>;
  compiled(world: World): CompiledStatement[];
}

const PREPARED = new WeakMap<SourcedPolicy[], Prepared>();
const MARKER_INDEX: { [m: string]: number } = { '⟨Partition⟩': 1, '⟨Region⟩': 3, '⟨AccountId⟩': 4 };

function prepare(policies: SourcedPolicy[]): Prepared {
  const cached = PREPARED.get(policies);
  if (cached) return cached;
  const statements = statementsOf(policies);
  const candidates: { [m: string]: Set<string> } = {};
  const present = new Set<string>();
  const withMarkers = statements.map(({ statement }) => {
    const text = JSON.stringify(statement);
    const markers = markersIn(text).filter((m) => PSEUDO_MARKERS.includes(m));
    markers.forEach((m) => present.add(m));
    return markers.length > 0;
  });
  for (const m of PSEUDO_MARKERS) candidates[m] = new Set();
  for (const { statement } of statements) {
    for (const resource of [statement.Resource ?? [], statement.NotResource ?? []].flat()) {
      if (typeof resource !== 'string' || !resource.startsWith('arn:')) continue;
      addCandidates(resource, candidates);
    }
  }
  const byWorld = new Map<string, CompiledStatement[]>();
  const prepared: Prepared = {
    candidates,
    present,
    compiled(world: World) {
      const key = JSON.stringify(world);
      let compiled = byWorld.get(key);
      if (compiled === undefined) {
        compiled = statements.map((ref, i) =>
          compileStatement(ref, withMarkers[i] ? substituteStatement(ref.statement, world) : ref.statement),
        );
        byWorld.set(key, compiled);
      }
      return compiled;
    },
  };
  PREPARED.set(policies, prepared);
  return prepared;
}

function addCandidates(arn: string, candidates: { [m: string]: Set<string> }): void {
  const parts = arn.split(':');
  for (const [m, index] of Object.entries(MARKER_INDEX)) {
    const part = parts[index];
    if (part && !/[*?⟨$]/.test(part)) candidates[m].add(part);
  }
}

function compileStatement(ref: StatementRef, statement: JsonObject): CompiledStatement {
  return {
    ref,
    statement,
    action: compileField(statement, 'Action', true),
    resource: compileField(statement, 'Resource', false),
  };
}

function compileField(statement: JsonObject, field: 'Action' | 'Resource', ignoreCase: boolean): FieldMatcher {
  const positive = statement[field];
  const negative = statement[`Not${field}`];
  const value = positive ?? negative;
  const exact = new Set<string>();
  const patterns = new Map<string, string[]>();
  let opaque = false;
  for (const pattern of value === undefined ? [] : [value].flat()) {
    if (typeof pattern !== 'string') {
      opaque = true;
      continue;
    }
    const wildcard = pattern.search(/[*?$⟨]/);
    if (wildcard < 0) {
      exact.add(ignoreCase ? pattern.toLowerCase() : pattern);
      continue;
    }
    const prefix = ignoreCase ? pattern.slice(0, wildcard).toLowerCase() : pattern.slice(0, wildcard);
    patterns.set(prefix, [...(patterns.get(prefix) ?? []), pattern]);
  }
  const prefixLengths = [...new Set([...patterns.keys()].map((p) => p.length))];
  const negated = positive === undefined;
  return { negated, present: value !== undefined, exact, patterns, prefixLengths, opaque, ignoreCase };
}

function matchCompiled(field: FieldMatcher, value: string): Tri {
  if (!field.present) return 'no';
  const key = field.ignoreCase ? value.toLowerCase() : value;
  let result: Tri = field.exact.has(key) ? 'yes' : field.opaque ? 'maybe' : 'no';
  for (const length of field.prefixLengths) {
    if (result === 'yes') break;
    for (const pattern of field.patterns.get(key.slice(0, length)) ?? []) {
      const match = globMatch(pattern, value, field.ignoreCase);
      if (match === 'yes') {
        result = 'yes';
        break;
      }
      if (match === 'maybe') result = 'maybe';
    }
  }
  if (!field.negated) return result;
  return result === 'yes' ? 'no' : result === 'no' ? 'yes' : 'maybe';
}

function decideIn(statements: CompiledStatement[], call: Call): Decision {
  const allowedBy: StatementRef[] = [];
  const allowing: StatementRef[] = [];
  const reasons: string[] = [];
  let allow = 'no' as Tri;
  let deny = 'no' as Tri;
  for (const compiled of statements) {
    const applies = appliesCompiled(compiled, call, reasons);
    if (applies === 'no') continue;
    const effect = compiled.ref.statement.Effect;
    if (effect === 'Deny') {
      deny = applies === 'yes' || deny === 'yes' ? 'yes' : 'maybe';
    } else if (effect === 'Allow') {
      allowedBy.push(compiled.ref);
      if (applies === 'yes') allowing.push(compiled.ref);
      allow = applies === 'yes' || allow === 'yes' ? 'yes' : 'maybe';
    }
  }
  if (deny === 'yes') return { decision: 'ExplicitlyDenied', allowedBy, allowing: [], reasons: [] };
  if (allow === 'no') return { decision: 'ImplicitlyDenied', allowedBy, allowing: [], reasons: [] };
  if (allow === 'yes' && deny === 'no') return { decision: 'Allowed', allowedBy, allowing, reasons: [] };
  return { decision: 'Undecidable', allowedBy, allowing, reasons: [...new Set(reasons)] };
}

function appliesCompiled(compiled: CompiledStatement, call: Call, reasons: string[]): Tri {
  const action = matchCompiled(compiled.action, call.action);
  if (action === 'no') return 'no';
  const resource = matchCompiled(compiled.resource, call.resource);
  if (resource === 'no') return 'no';
  const { statement } = compiled;
  const condition = evaluateConditions(statement.Condition, call, reasons);
  if (action === 'maybe' || resource === 'maybe') {
    reasons.push(
      `a statement names a value that is not known at synthesis (${JSON.stringify(statement.Resource ?? statement.NotResource)})`,
    );
  }
  return and(and(action, resource), condition);
}

function and(a: Tri, b: Tri): Tri {
  if (a === 'no' || b === 'no') return 'no';
  return a === 'maybe' || b === 'maybe' ? 'maybe' : 'yes';
}

const UNKNOWN = /\$\{[^}]*\}|⟨[^⟩]*⟩/g;
const REGEXPS = new Map<string, { exact: RegExp; loose?: RegExp }>();

/**
 * IAM glob matching: `*` any run of characters (colons included), `?` one character. A policy variable (`${...}`) or
 * a value not known at synthesis (a marker other than the pseudo parameters) in the pattern: `maybe` when it could
 * match, by reading it as `*`.
 */
export function globMatch(pattern: string, value: string, ignoreCase = false): Tri {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let compiled = REGEXPS.get(key);
  if (compiled === undefined) {
    const opaque = (pattern.match(UNKNOWN) ?? []).filter(isOpaqueMarker);
    compiled = {
      exact: toRegExp(pattern, ignoreCase, () => false),
      loose: opaque.length === 0 ? undefined : toRegExp(pattern, ignoreCase, (m) => opaque.includes(m)),
    };
    REGEXPS.set(key, compiled);
  }
  if (compiled.exact.test(value)) return 'yes';
  return compiled.loose?.test(value) ? 'maybe' : 'no';
}

function toRegExp(pattern: string, ignoreCase: boolean, asWildcard: (m: string) => boolean): RegExp {
  let source = '';
  const tokens = pattern.split(/(\$\{[^}]*\}|⟨[^⟩]*⟩|\*|\?)/);
  for (const token of tokens) {
    if (token === '*') source += '.*';
    else if (token === '?') source += '.';
    else if (token !== '' && asWildcard(token)) source += '.*';
    else source += escapeRegExp(token);
  }
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
}

/** Condition operators evaluated on the call's context (multi-valued `states:StateMachineQualifier`). */
const KNOWN_KEYS = ['states:statemachinequalifier'];

function evaluateConditions(conditions: Json | undefined, call: Call, reasons: string[]): Tri {
  if (conditions === undefined) return 'yes';
  if (!isObject(conditions)) return 'maybe';
  let result: Tri = 'yes';
  for (const [operator, block] of Object.entries(conditions)) {
    if (!isObject(block)) return 'maybe';
    for (const [key, expected] of Object.entries(block)) {
      if (!KNOWN_KEYS.includes(key.toLowerCase())) {
        reasons.push(`a condition on ${key} (${operator}) is not evaluated`);
        result = and(result, 'maybe');
        continue;
      }
      const actual = Object.entries(call.context ?? {}).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
      result = and(result, evaluateOperator(operator, [expected].flat(), actual, reasons, key));
    }
  }
  return result;
}

function evaluateOperator(
  operator: string,
  expected: Json[],
  actual: string | undefined,
  reasons: string[],
  key: string,
): Tri {
  const match = /^(ForAnyValue:|ForAllValues:)?(StringEquals|StringLike)(IfExists)?$/.exec(operator);
  if (!match || expected.some((e) => typeof e !== 'string')) {
    reasons.push(`a condition on ${key} (${operator}) is not evaluated`);
    return 'maybe';
  }
  const [, set, kind, ifExists] = match;
  const values = actual === undefined ? [] : [actual];
  const test = (v: string) =>
    (expected as string[]).some((e) => (kind === 'StringLike' ? globMatch(e, v) === 'yes' : e === v));
  if (values.length === 0) {
    // An absent key: ForAllValues matches (no value fails), IfExists matches, the others do not.
    return set === 'ForAllValues:' || ifExists ? 'yes' : 'no';
  }
  if (set === 'ForAllValues:') return values.every(test) ? 'yes' : 'no';
  if (set === 'ForAnyValue:') return values.some(test) ? 'yes' : 'no';
  // A single-valued operator on a multi-valued key: IAM's simulator never matches it.
  return 'no';
}

/**
 * The pseudo-parameter markers of the call and of the statements, each with the literal values that the call and the
 * policies name in that part of an ARN: a policy built from `${AWS::AccountId}` may match a child's literal account.
 */
function pseudoWorlds(call: Call, prepared: Prepared): World[] {
  const present = PSEUDO_MARKERS.filter((m) => prepared.present.has(m) || call.resource.includes(m));
  if (present.length === 0) return [{}];
  const candidates: { [m: string]: Set<string> } = {};
  const own: { [m: string]: Set<string> } = {};
  for (const m of PSEUDO_MARKERS) own[m] = new Set();
  if (call.resource.startsWith('arn:')) addCandidates(call.resource, own);
  for (const m of present) candidates[m] = new Set([m, ...prepared.candidates[m], ...own[m]]);
  let worlds: World[] = [{}];
  for (const m of present) {
    worlds = worlds.flatMap((w) => [...candidates[m]].map((v) => ({ ...w, [m]: v })));
  }
  return worlds.slice(0, 64);
}

function substitute(text: string, world: World): string {
  let result = text;
  for (const [m, v] of Object.entries(world)) result = result.split(m).join(v);
  return result;
}

function substituteCall(call: Call, world: World): Call {
  return { ...call, resource: substitute(call.resource, world) };
}

function substituteStatement(statement: JsonObject, world: World): JsonObject {
  if (Object.keys(world).length === 0) return statement;
  const text = JSON.stringify(statement);
  if (!markersIn(text).some((m) => m in world)) return statement;
  return JSON.parse(substitute(text, world)) as JsonObject;
}
