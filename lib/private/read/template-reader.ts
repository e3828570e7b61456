import * as fs from 'fs';
import * as path from 'path';
import { hasOwn, isIntrinsic, isObject, Json, JsonObject, objectOf, stringifyJson } from '../model/json';

/**
 * Reads a synthesized CloudFormation template (or one transformed from SAM/Serverless) for the checks: resolves the
 * intrinsic functions that policies and definitions use into plausible values, and marks what cannot be known at
 * synthesis instead of guessing it.
 *
 * A value that cannot be known is written as a marker `⟨Kind.Name⟩` inside the string (the same marker for the same
 * value everywhere in the template, so that a policy and a definition that both use `${AWS::AccountId}` still match):
 * - `⟨Partition⟩`, `⟨Region⟩`, `⟨AccountId⟩`, `⟨URLSuffix⟩`: pseudo parameters of a stack whose environment is not
 *   known (the evaluator tries them against the literals of the policies, see `pseudoMarkers`);
 * - `⟨Name.<logicalId>⟩`: the name CloudFormation generates for a resource (unique, so no literal can equal it);
 * - `⟨Parameter.<name>⟩`, `⟨Import.<name>⟩`, `⟨Unknown.<what>⟩`: anything else, undecidable where it matters.
 */

/** The stack's environment, where known. */
export interface TemplateEnv {
  readonly partition?: string;
  readonly region?: string;
  readonly account?: string;
  /** How to make an unknown environment known, in findings (default: give the stack an env). */
  readonly unknownFix?: string;
}

export const MARKER = /⟨([^⟩]*)⟩/g;
const PSEUDO: { [name: string]: string } = {
  'AWS::Partition': 'Partition',
  'AWS::Region': 'Region',
  'AWS::AccountId': 'AccountId',
  'AWS::URLSuffix': 'URLSuffix',
};
/** Markers of pseudo parameters: one value per stack, tried against the literals of the policies. */
export const PSEUDO_MARKERS = ['⟨Partition⟩', '⟨Region⟩', '⟨AccountId⟩'];

/** A marker for a value that cannot be known (`:` would split ARNs: it becomes `.`). */
export function marker(name: string): string {
  return `⟨${name.replace(/[:⟨⟩]/g, '.')}⟩`;
}

/** The markers in `value`. */
export function markersIn(value: string): string[] {
  return [...value.matchAll(MARKER)].map((m) => m[0]);
}

/** Whether a marker makes a value undecidable: all but the pseudo parameters and the names CloudFormation generates. */
export function isOpaqueMarker(m: string): boolean {
  return !PSEUDO_MARKERS.includes(m) && !m.startsWith('⟨Name.');
}

/** The markers of `value` that make it undecidable. */
export function opaqueMarkersIn(value: string): string[] {
  return markersIn(value).filter(isOpaqueMarker);
}

/** How a marker reads in a message. */
export function describeMarker(m: string): string {
  const name = m.slice(1, -1);
  if (PSEUDO_MARKERS.includes(m) || name === 'URLSuffix') return `AWS::${name} (the stack's environment is not known)`;
  if (name.startsWith('Parameter.')) return `the parameter ${name.slice('Parameter.'.length)} (no Default)`;
  if (name.startsWith('Import.')) return `Fn::ImportValue ${name.slice('Import.'.length)}`;
  // The marker wrote `::` as `..`.
  return name.replace(/^Unknown\./, '').replace(/\.\./g, '::');
}

const URL_SUFFIXES: { [partition: string]: string } = { 'aws-cn': 'amazonaws.com.cn' };

/** A resource of the template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly DependsOn?: string | string[];
}

/** A template the checks cannot read: not an object, a resource that is not one. The message names both. */
export class TemplateError extends Error {}

/** How deep intrinsic functions may nest in one another before the value is taken as unknown. */
const MAX_INTRINSIC_DEPTH = 400;

export class TemplateReader {
  /** The template's resources (own properties only: `constructor` is a logical id like any other). */
  public readonly resources: { [logicalId: string]: TemplateResource };
  private readonly parameters: { [name: string]: JsonObject };
  private readonly mappings: JsonObject;
  private readonly inProgress = new Set<string>();
  /** `Ref`/`Fn::GetAtt` values, computed once (name chains of `Fn::Select` over `Fn::GetAtt` grow otherwise). */
  private readonly memo = new Map<string, Json>();
  private cyclesCut = 0;
  private intrinsicDepth = 0;

  /**
   * @param template the template
   * @param env the stack's environment, where known
   * @param templatePath where the template was read from (its cloud assembly holds the file assets)
   */
  constructor(
    public readonly template: JsonObject,
    public readonly env: TemplateEnv,
    public readonly templatePath?: string,
  ) {
    const where = templatePath ?? 'the template';
    if (!isObject(template)) {
      throw new TemplateError(
        `${where} is not a CloudFormation template: it holds ${describeJson(template)}, not an object`,
      );
    }
    const resources = isObject(template.Resources) ? template.Resources : {};
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (!isObject(resource) || typeof resource.Type !== 'string') {
        throw new TemplateError(
          `the resource ${logicalId} of ${where} must be an object with a Type, got: ${describeJson(resource)}`,
        );
      }
      if (resource.Properties !== undefined && resource.Properties !== null && !isObject(resource.Properties)) {
        throw new TemplateError(
          `the Properties of resource ${logicalId} of ${where} must be an object, got: ${describeJson(resource.Properties)}`,
        );
      }
    }
    const own = <T>(value: Json | undefined) => nullPrototype(isObject(value) ? value : {}) as unknown as T;
    this.resources = own(resources);
    this.parameters = own(template.Parameters);
    this.mappings = own(template.Mappings);
  }

  /** The partition, region and account as strings (markers where unknown). */
  public get partition(): string {
    return this.env.partition ?? marker('Partition');
  }
  public get region(): string {
    return this.env.region ?? marker('Region');
  }
  public get account(): string {
    return this.env.account ?? marker('AccountId');
  }

  /** Deeply resolves intrinsics in `value`. */
  public resolve(value: Json | undefined): Json {
    if (value === undefined) return null;
    // Without recursion: a definition may nest objects hundreds of levels deep.
    let root: Json = null;
    const work: Array<() => void> = [];
    const visit = (v: Json, set: (resolved: Json) => void) => {
      if (Array.isArray(v)) {
        const out: Json[] = new Array(v.length);
        work.push(() => set(out.filter((r) => r !== NO_VALUE)));
        for (let i = v.length - 1; i >= 0; i--) work.push(() => visit(v[i], (r) => (out[i] = r)));
      } else if (isObject(v) && isIntrinsic(v)) {
        const [name] = Object.keys(v);
        set(this.intrinsic(name, v[name]));
      } else if (isObject(v)) {
        const entries = Object.entries(v);
        const out: Json[] = new Array(entries.length);
        work.push(() =>
          set(objectOf(entries.map(([key], i): [string, Json] => [key, out[i]]).filter(([, r]) => r !== NO_VALUE))),
        );
        for (let i = entries.length - 1; i >= 0; i--) work.push(() => visit(entries[i][1], (r) => (out[i] = r)));
      } else {
        set(v);
      }
    };
    visit(value, (r) => (root = r));
    while (work.length > 0) work.pop()!();
    return root;
  }

  /** Resolves `value` to a string (lists are joined with commas, as CloudFormation does for `Ref` to a list). */
  public resolveString(value: Json | undefined): string {
    return asString(this.resolve(value));
  }

  private intrinsic(name: string, args: Json): Json {
    if (this.intrinsicDepth >= MAX_INTRINSIC_DEPTH) return marker(`Unknown.${name} nested too deep`);
    this.intrinsicDepth++;
    try {
      return this.evaluate(name, args);
    } finally {
      this.intrinsicDepth--;
    }
  }

  private evaluate(name: string, args: Json): Json {
    switch (name) {
      case 'Ref':
        return this.ref(this.resolveString(args));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] =
          typeof args === 'string'
            ? [args.slice(0, args.indexOf('.')), args.slice(args.indexOf('.') + 1)]
            : (Array.isArray(args) ? args : []).map((a) => this.resolveString(a));
        return this.getAtt(logicalId ?? '', attribute ?? '');
      }
      case 'Fn::Join': {
        if (!Array.isArray(args) || args.length !== 2) return marker('Unknown.Fn::Join');
        const list = this.resolve(args[1]);
        return (Array.isArray(list) ? list : [list]).map(asString).join(this.resolveString(args[0]));
      }
      case 'Fn::Sub':
        return this.sub(args);
      case 'Fn::Split': {
        if (!Array.isArray(args) || args.length !== 2) return [marker('Unknown.Fn::Split')];
        return this.resolveString(args[1]).split(this.resolveString(args[0]));
      }
      case 'Fn::Select': {
        if (!Array.isArray(args) || args.length !== 2) return marker('Unknown.Fn::Select');
        const index = Number(this.resolve(args[0]));
        const list = this.resolve(args[1]);
        if (Array.isArray(list) && Number.isInteger(index) && index >= 0 && index < list.length) return list[index];
        // A part of a value that cannot be known (a parameter without Default, say): as unknown as the value.
        const source = JSON.stringify(list);
        return opaqueMarkersIn(source)[0] ?? marker(`Unknown.Fn::Select ${index} of ${source.replace(/["[\]]/g, '')}`);
      }
      case 'Fn::ImportValue':
        return marker(`Import.${this.resolveString(args)}`);
      case 'Fn::FindInMap':
        return this.findInMap(args);
      case 'Fn::If':
        // Conditions are not evaluated: a value chosen by one is not known.
        return marker('Unknown.Fn::If');
      default:
        return marker(`Unknown.${name}`);
    }
  }

  private ref(name: string): Json {
    if (hasOwn(PSEUDO, name)) {
      const key = PSEUDO[name];
      if (key === 'URLSuffix') {
        return this.env.partition ? (URL_SUFFIXES[this.env.partition] ?? 'amazonaws.com') : marker('URLSuffix');
      }
      return key === 'Partition' ? this.partition : key === 'Region' ? this.region : this.account;
    }
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name.startsWith('AWS::')) return marker(name);
    const parameter = this.parameters[name];
    if (parameter) {
      const value = parameter.Default;
      if (value === undefined || value === null) return marker(`Parameter.${name}`);
      const type = typeof parameter.Type === 'string' ? parameter.Type : 'String';
      const text = String(value);
      return type === 'CommaDelimitedList' || type.startsWith('List<') ? text.split(',') : text;
    }
    const resource = this.resources[name];
    if (!resource) return marker(`Unknown.Ref ${name}`);
    return this.guarded(`Ref ${name}`, () => this.resourceRef(name, resource));
  }

  private resourceRef(logicalId: string, resource: TemplateResource): Json {
    switch (resource.Type) {
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::StepFunctions::StateMachineAlias':
      case 'AWS::StepFunctions::StateMachineVersion':
        return this.getAtt(logicalId, 'Arn');
      case 'AWS::IAM::ManagedPolicy':
        return this.getAtt(logicalId, 'PolicyArn');
      case 'AWS::IAM::Role':
        return this.physicalName(logicalId, 'RoleName');
      case 'AWS::Events::Rule':
        return this.physicalName(logicalId, 'Name');
      default:
        return marker(`Name.${logicalId}`);
    }
  }

  private getAtt(logicalId: string, attribute: string): Json {
    const resource = this.resources[logicalId];
    if (!resource) return marker(`Unknown.Fn::GetAtt ${logicalId}.${attribute}`);
    return this.guarded(`GetAtt ${logicalId}.${attribute}`, () => {
      const props = resource.Properties ?? {};
      const arn = (service: string, rest: string, region = this.region) =>
        `arn:${this.partition}:${service}:${region}:${this.account}:${rest}`;
      switch (`${resource.Type}.${attribute}`) {
        case 'AWS::StepFunctions::StateMachine.Arn':
          return arn('states', `stateMachine:${this.physicalName(logicalId, 'StateMachineName')}`);
        case 'AWS::StepFunctions::StateMachine.Name':
          return this.physicalName(logicalId, 'StateMachineName');
        case 'AWS::StepFunctions::StateMachineAlias.Arn': {
          const target =
            props.DeploymentPreference ??
            (Array.isArray(props.RoutingConfiguration) ? props.RoutingConfiguration[0] : undefined);
          const version = isObject(target)
            ? this.resolveString(target.StateMachineVersionArn)
            : marker(`Unknown.${logicalId}`);
          return `${version.split(':').slice(0, 7).join(':')}:${this.physicalName(logicalId, 'Name')}`;
        }
        case 'AWS::StepFunctions::StateMachineVersion.Arn':
          // Versions are numbered at deployment.
          return `${this.resolveString(props.StateMachineArn)}:${marker(`Name.${logicalId}`)}`;
        case 'AWS::IAM::Role.Arn':
          return `arn:${this.partition}:iam::${this.account}:role${iamPath(props.Path, this)}${this.physicalName(logicalId, 'RoleName')}`;
        case 'AWS::IAM::ManagedPolicy.PolicyArn':
          return `arn:${this.partition}:iam::${this.account}:policy${iamPath(props.Path, this)}${this.physicalName(logicalId, 'ManagedPolicyName')}`;
        case 'AWS::Events::Rule.Arn':
          return arn('events', `rule/${this.physicalName(logicalId, 'Name')}`);
        case 'AWS::KMS::Key.Arn':
          return arn('kms', `key/${marker(`Name.${logicalId}`)}`);
        case 'AWS::Lambda::Function.Arn':
          return arn('lambda', `function:${this.physicalName(logicalId, 'FunctionName')}`);
        default:
          return marker(`Unknown.Fn::GetAtt ${logicalId}.${attribute}`);
      }
    });
  }

  /** The name given in `property`, or the one CloudFormation generates. */
  private physicalName(logicalId: string, property: string): string {
    const value = this.resources[logicalId]?.Properties?.[property];
    return value === undefined ? marker(`Name.${logicalId}`) : this.resolveString(value);
  }

  private sub(args: Json): string {
    let text: string;
    let variables: JsonObject = {};
    if (typeof args === 'string') {
      text = args;
    } else if (Array.isArray(args) && typeof args[0] === 'string') {
      text = args[0];
      variables = isObject(args[1]) ? args[1] : {};
    } else {
      return marker('Unknown.Fn::Sub');
    }
    return text.replace(/\$\{([^}]*)\}/g, (_match, expression: string) => {
      if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
      const name = expression.trim();
      if (hasOwn(variables, name)) return this.resolveString(variables[name]);
      const dot = name.indexOf('.');
      return asString(
        dot < 0 || name.startsWith('AWS::') ? this.ref(name) : this.getAtt(name.slice(0, dot), name.slice(dot + 1)),
      );
    });
  }

  private findInMap(args: Json): Json {
    if (!Array.isArray(args) || args.length < 3) return marker('Unknown.Fn::FindInMap');
    const [map, top, second] = args.slice(0, 3).map((a) => this.resolveString(a));
    const topLevel = this.mappings[map];
    const entry = isObject(topLevel) && hasOwn(topLevel, top) ? topLevel[top] : undefined;
    const value = isObject(entry) && hasOwn(entry, second) ? entry[second] : undefined;
    return value === undefined ? marker(`Unknown.Fn::FindInMap ${map}.${top}.${second}`) : value;
  }

  private guarded(key: string, compute: () => Json): Json {
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    if (this.inProgress.has(key)) {
      this.cyclesCut++;
      return marker(`Unknown.${key}`);
    }
    this.inProgress.add(key);
    const cycles = this.cyclesCut;
    try {
      const value = compute();
      // A value computed while a cycle was cut depends on where the cycle was entered: not kept.
      if (this.cyclesCut === cycles) this.memo.set(key, value);
      return value;
    } finally {
      this.inProgress.delete(key);
    }
  }

  /**
   * The text of a file asset of the template's cloud assembly (`DefinitionS3Location` of `DefinitionBody.fromFile`),
   * found by its S3 object key in the `*.assets.json` manifests beside the template.
   */
  public fileAsset(objectKey: string): string | undefined {
    if (this.templatePath === undefined) return undefined;
    const dir = path.dirname(this.templatePath);
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((name) => name.endsWith('.assets.json'));
    } catch {
      return undefined;
    }
    for (const name of names) {
      let manifest: {
        files?: {
          [id: string]: { source?: { path?: string }; destinations?: { [d: string]: { objectKey?: string } } };
        };
      };
      try {
        manifest = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf-8'));
      } catch {
        continue;
      }
      for (const file of Object.values(manifest.files ?? {})) {
        const keys = Object.values(file.destinations ?? {}).map((d) => d.objectKey);
        if (!keys.includes(objectKey) || file.source?.path === undefined) continue;
        try {
          return fs.readFileSync(path.join(dir, file.source.path), 'utf-8');
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }
}

const NO_VALUE = marker('NoValue');

/** A copy of `object` without prototype: a key such as `constructor` or `__proto__` is only its own. */
function nullPrototype(object: JsonObject): JsonObject {
  const copy = Object.create(null) as JsonObject;
  for (const [key, value] of Object.entries(object)) {
    Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** A value as a message shows it: short. */
export function describeJson(value: Json | undefined): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  const text = stringifyJson(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function iamPath(value: Json | undefined, reader: TemplateReader): string {
  const text = value === undefined ? '/' : reader.resolveString(value);
  const leading = text.startsWith('/') ? text : `/${text}`;
  return leading.endsWith('/') ? leading : `${leading}/`;
}

export function asString(value: Json): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(asString).join(',');
  return marker('Unknown.object');
}
