import * as fs from 'fs';
import * as path from 'path';
import { isIntrinsic, isObject, Json, JsonObject } from '../model/json';

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

/** Markers that make a value undecidable: all but the pseudo parameters and the names CloudFormation generates. */
export function opaqueMarkersIn(value: string): string[] {
  return markersIn(value).filter((m) => !PSEUDO_MARKERS.includes(m) && !m.startsWith('⟨Name.'));
}

/** How a marker reads in a message. */
export function describeMarker(m: string): string {
  const name = m.slice(1, -1);
  if (PSEUDO_MARKERS.includes(m) || name === 'URLSuffix') return `AWS::${name} (the stack's environment is not known)`;
  if (name.startsWith('Parameter.')) return `the parameter ${name.slice('Parameter.'.length)} (no Default)`;
  if (name.startsWith('Import.')) return `Fn::ImportValue ${name.slice('Import.'.length)}`;
  return name.replace(/^Unknown\./, '');
}

const URL_SUFFIXES: { [partition: string]: string } = { 'aws-cn': 'amazonaws.com.cn' };

/** A resource of the template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly DependsOn?: string | string[];
}

export class TemplateReader {
  public readonly resources: { [logicalId: string]: TemplateResource };
  private readonly parameters: { [name: string]: JsonObject };
  private readonly inProgress = new Set<string>();

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
    this.resources = (isObject(template.Resources) ? template.Resources : {}) as unknown as {
      [logicalId: string]: TemplateResource;
    };
    this.parameters = (isObject(template.Parameters) ? template.Parameters : {}) as { [name: string]: JsonObject };
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
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (!isObject(value)) return value;
    if (isIntrinsic(value)) {
      const [name] = Object.keys(value);
      return this.intrinsic(name, value[name]);
    }
    const result: JsonObject = {};
    for (const [key, element] of Object.entries(value)) {
      const resolved = this.resolve(element);
      if (resolved !== NO_VALUE) result[key] = resolved;
    }
    return result;
  }

  /** Resolves `value` to a string (lists are joined with commas, as CloudFormation does for `Ref` to a list). */
  public resolveString(value: Json | undefined): string {
    return asString(this.resolve(value));
  }

  private intrinsic(name: string, args: Json): Json {
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
    if (name in PSEUDO) {
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
      if (name in variables) return this.resolveString(variables[name]);
      const dot = name.indexOf('.');
      return asString(
        dot < 0 || name.startsWith('AWS::') ? this.ref(name) : this.getAtt(name.slice(0, dot), name.slice(dot + 1)),
      );
    });
  }

  private findInMap(args: Json): Json {
    const mappings = isObject(this.template.Mappings) ? this.template.Mappings : {};
    if (!Array.isArray(args) || args.length < 3) return marker('Unknown.Fn::FindInMap');
    const [map, top, second] = args.slice(0, 3).map((a) => this.resolveString(a));
    const entry = (mappings[map] as JsonObject | undefined)?.[top];
    const value = isObject(entry) ? entry[second] : undefined;
    return value === undefined ? marker(`Unknown.Fn::FindInMap ${map}.${top}.${second}`) : value;
  }

  private guarded(key: string, compute: () => Json): Json {
    if (this.inProgress.has(key)) return marker(`Unknown.${key}`);
    this.inProgress.add(key);
    try {
      return compute();
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
