import { isObject, Json, JsonObject } from '../model/json';
import { markersIn, PSEUDO_MARKERS } from '../read/template-reader';

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
 * every value the policies name literally there is tried too: a decision that depends on it is undecidable.
 */
export function decide(policies: SourcedPolicy[], call: Call): Decision {
  const statements = statementsOf(policies);
  const worlds = pseudoWorlds(call, statements);
  let first: Decision | undefined;
  for (const world of worlds) {
    const decision = decideIn(statements, substituteCall(call, world), world);
    if (first === undefined) {
      first = decision;
    } else if (first.decision !== decision.decision) {
      const named = Object.entries(world)
        .map(([m, v]) => `${m.slice(1, -1)} = ${v}`)
        .join(', ');
      return {
        decision: 'Undecidable',
        allowedBy: [...first.allowedBy, ...decision.allowedBy],
        reasons: [`the answer depends on the stack's environment (it differs when ${named}): give the stack an env`],
      };
    }
  }
  return first!;
}

type World = { [marker: string]: string };

function decideIn(statements: StatementRef[], call: Call, world: World): Decision {
  const allowedBy: StatementRef[] = [];
  const reasons: string[] = [];
  let allow = 'no' as Tri;
  let deny = 'no' as Tri;
  for (const ref of statements) {
    const applies = statementApplies(substituteStatement(ref.statement, world), call, reasons);
    if (applies === 'no') continue;
    if (ref.statement.Effect === 'Deny') {
      deny = applies === 'yes' || deny === 'yes' ? 'yes' : 'maybe';
    } else if (ref.statement.Effect === 'Allow') {
      allowedBy.push(ref);
      allow = applies === 'yes' || allow === 'yes' ? 'yes' : 'maybe';
    }
  }
  if (deny === 'yes') return { decision: 'ExplicitlyDenied', allowedBy, reasons: [] };
  if (allow === 'no') return { decision: 'ImplicitlyDenied', allowedBy, reasons: [] };
  if (allow === 'yes' && deny === 'no') return { decision: 'Allowed', allowedBy, reasons: [] };
  return { decision: 'Undecidable', allowedBy, reasons: [...new Set(reasons)] };
}

/** Whether a statement applies to the call: `maybe` when a condition or a value it holds cannot be evaluated. */
export function statementApplies(statement: JsonObject, call: Call, reasons: string[] = []): Tri {
  const action = matchField(statement, 'Action', call.action, true);
  if (action === 'no') return 'no';
  const resource = matchField(statement, 'Resource', call.resource, false);
  if (resource === 'no') return 'no';
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

/** `Action`/`NotAction` or `Resource`/`NotResource` against a value. */
function matchField(statement: JsonObject, field: 'Action' | 'Resource', value: string, ignoreCase: boolean): Tri {
  const positive = statement[field];
  const negative = statement[`Not${field}`];
  if (positive !== undefined) return matchAny(positive, value, ignoreCase);
  if (negative !== undefined) {
    const result = matchAny(negative, value, ignoreCase);
    return result === 'yes' ? 'no' : result === 'no' ? 'yes' : 'maybe';
  }
  return 'no';
}

function matchAny(patterns: Json, value: string, ignoreCase: boolean): Tri {
  let result: Tri = 'no';
  for (const pattern of [patterns].flat()) {
    if (typeof pattern !== 'string') {
      result = result === 'yes' ? 'yes' : 'maybe';
      continue;
    }
    const match = globMatch(pattern, value, ignoreCase);
    if (match === 'yes') return 'yes';
    if (match === 'maybe') result = 'maybe';
  }
  return result;
}

/**
 * IAM glob matching: `*` any run of characters (colons included), `?` one character. A policy variable (`${...}`) or
 * a value not known at synthesis (a marker other than the pseudo parameters) in the pattern: `maybe` when it could
 * match, by reading it as `*`.
 */
export function globMatch(pattern: string, value: string, ignoreCase = false): Tri {
  const unknown = /\$\{[^}]*\}|⟨[^⟩]*⟩/g;
  const opaque = (pattern.match(unknown) ?? []).filter((m) => !PSEUDO_MARKERS.includes(m) && !m.startsWith('⟨Name.'));
  const exact = toRegExp(pattern, ignoreCase, () => false).test(value);
  if (exact) return 'yes';
  if (opaque.length === 0) return 'no';
  return toRegExp(pattern, ignoreCase, (m) => opaque.includes(m)).test(value) ? 'maybe' : 'no';
}

function toRegExp(pattern: string, ignoreCase: boolean, asWildcard: (m: string) => boolean): RegExp {
  let source = '';
  const tokens = pattern.split(/(\$\{[^}]*\}|⟨[^⟩]*⟩|\*|\?)/);
  for (const token of tokens) {
    if (token === '*') source += '.*';
    else if (token === '?') source += '.';
    else if (token !== '' && asWildcard(token)) source += '.*';
    else source += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
function pseudoWorlds(call: Call, statements: StatementRef[]): World[] {
  const arns = [call.resource];
  for (const { statement } of statements) {
    for (const resource of [statement.Resource ?? [], statement.NotResource ?? []].flat()) {
      if (typeof resource === 'string' && resource.startsWith('arn:')) arns.push(resource);
    }
  }
  const present = PSEUDO_MARKERS.filter((m) => arns.some((arn) => arn.includes(m)));
  if (present.length === 0) return [{}];
  const index: { [m: string]: number } = { '⟨Partition⟩': 1, '⟨Region⟩': 3, '⟨AccountId⟩': 4 };
  const candidates: { [m: string]: Set<string> } = {};
  for (const m of present) candidates[m] = new Set([m]);
  for (const arn of arns) {
    const parts = arn.split(':');
    for (const m of present) {
      const part = parts[index[m]];
      if (part && !/[*?⟨$]/.test(part)) candidates[m].add(part);
    }
  }
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
