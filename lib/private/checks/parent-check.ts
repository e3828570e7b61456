import { Call, Decision, SourcedPolicy } from './evaluator';
import { RequiredCall } from './required-calls';
import { Json, objectsIn } from '../model/json';
import { describeMarker, opaqueMarkersIn, TemplateReader } from '../read/template-reader';

/** What the engine hands each rule, and what a rule is (`rules/`, one file each, like cdk-nag's). */

export type Severity = 'error' | 'warning';

/** A rule as findings and reports show it: a stable id (acknowledge by it), a severity, the info and the fix. */
export interface CheckRule {
  readonly id: string;
  readonly severity: Severity;
  readonly info: string;
  readonly fix: string;
}

/** A rule and its finder. */
export interface Rule extends CheckRule {
  /** A name for the rule in code (`missing`, `tooBroad`, ...). */
  readonly name: string;
  /** What the rule finds on one parent. */
  find(check: ParentCheck): RuleFinding[];
}

/** What a finder reports: the message and other template resources concerned. */
export interface RuleFinding {
  readonly message: string;
  readonly resources?: string[];
}

/** One finding on one parent. */
export interface Finding {
  readonly rule: CheckRule;
  /** The parent state machine's logical id. */
  readonly parent: string;
  /** Other template resources concerned (the policy of a too broad statement). */
  readonly resources: string[];
  readonly message: string;
  readonly templatePath?: string;
}

/** A parent state machine as the checks read it: its role, the role's policies and the calls it needs. */
export interface ReadParent {
  readonly logicalId: string;
  readonly role?: string;
  readonly policies: SourcedPolicy[];
  /** Managed policies of the role whose document is not in the template (they may allow what the template does not). */
  readonly externalPolicies: string[];
  /** The role's permissions boundary, when the template defines it: it only takes away. */
  readonly boundary?: SourcedPolicy[];
  /** The role's permissions boundary, when its document is not in the template. */
  readonly externalBoundary?: string;
  readonly calls: RequiredCall[];
  readonly undecidable: string[];
  /** Why the definition cannot run (NWR5). */
  readonly cannotRun: string[];
  readonly wrongPartition: string[];
}

/** One parent, read and decided: what every rule judges. */
export interface ParentCheck {
  readonly parent: ReadParent;
  readonly reader: TemplateReader;
  /** Each call the parent needs and what its role's policies decide (none when the role is not in the template). */
  readonly decisions: ReadonlyArray<{
    readonly call: RequiredCall;
    readonly decision: Decision;
    /** The role's policies allow the call, its permissions boundary does not. */
    readonly deniedByBoundary?: boolean;
  }>;
  /** The calls of every parent that shares its role: not near misses of this one. */
  readonly roleCalls: RequiredCall[];
}

/** A call the role denies, as far as the template shows (a policy outside it might allow it: NWR4 then). */
export function isDenied(decision: Decision, parent: ReadParent): boolean {
  return (
    decision.decision === 'ExplicitlyDenied' ||
    (decision.decision === 'ImplicitlyDenied' && parent.externalPolicies.length === 0)
  );
}

/** Every resource `logicalId` depends on: DependsOn, Ref, Fn::GetAtt and Fn::Sub references, transitively. */
export function dependencies(reader: TemplateReader, logicalId: string): Set<string> {
  const seen = new Set<string>();
  const todo = [logicalId];
  while (todo.length > 0) {
    const resource = reader.resources[todo.pop()!];
    if (!resource) continue;
    const direct = new Set<string>([resource.DependsOn ?? []].flat());
    collectReferences(resource.Properties ?? null, direct);
    for (const dep of direct) {
      if (seen.has(dep) || !(dep in reader.resources)) continue;
      seen.add(dep);
      todo.push(dep);
    }
  }
  return seen;
}

function collectReferences(value: Json, into: Set<string>): void {
  for (const object of objectsIn(value)) {
    if (typeof object.Ref === 'string') into.add(object.Ref);
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') into.add(getAtt[0]);
    if (typeof getAtt === 'string') into.add(getAtt.split('.')[0]);
    const sub = object['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : '';
    for (const m of text.matchAll(/\$\{([^}!.]*)[^}]*\}/g)) into.add(m[1]);
  }
}

export function describeCall(call: Call): string {
  const context = call.context
    ? ` with ${Object.entries(call.context)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`
    : '';
  const states = (call as Partial<RequiredCall>).states;
  const unknown = opaqueMarkersIn(call.resource);
  return (
    `${call.action} on ${call.resource}${context}` +
    (states ? ` (state ${states.map((s) => `'${s}'`).join(', ')})` : '') +
    (unknown.length > 0 ? ` [${unknown.map(describeMarker).join(', ')}]` : '')
  );
}
