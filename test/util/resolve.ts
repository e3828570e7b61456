/**
 * Resolves CloudFormation intrinsic functions in a synthesized template so that the
 * IAM policies it contains can be fed to an IAM policy simulator.
 *
 * Only what the tests of this library need is supported; anything else throws a
 * descriptive error instead of silently leaving an intrinsic object in place.
 */

export interface ResolveEnv {
  /** The partition, e.g. 'aws'. */
  readonly partition: string;
  /** The region, e.g. 'us-east-1'. */
  readonly region: string;
  /** The account id, e.g. '111111111111'. */
  readonly account: string;
  /** Values for CfnParameters (a `Ref` to a parameter). Falls back to the parameter's `Default`. */
  readonly parameters?: { [name: string]: string };
  /** Values for `Fn::ImportValue`, by export name. */
  readonly imports?: { [exportName: string]: string };
  /** Value of `AWS::URLSuffix`. Defaults to the suffix of the partition ('amazonaws.com' for 'aws'). */
  readonly urlSuffix?: string;
}

/** Template sections whose intrinsics are resolved by `resolveTemplate`; every other section is copied verbatim. */
const RESOLVED_SECTIONS = ['Resources', 'Outputs'];

const URL_SUFFIXES: { [partition: string]: string } = {
  'aws-cn': 'amazonaws.com.cn',
  'aws-iso': 'c2s.ic.gov',
  'aws-iso-b': 'sc2s.sgov.gov',
  'aws-iso-e': 'cloud.adc-e.uk',
  'aws-iso-f': 'csp.hci.ic.gov',
  'aws-eusc': 'amazonaws.eu',
};

/** Marker for `Ref: AWS::NoValue`: the enclosing property or list element is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Returns a deep copy of `template` (as returned by `Template.fromStack(stack).toJSON()`) in which every
 * intrinsic function in the `Resources` and `Outputs` sections is replaced by its value.
 *
 * The other sections (`Parameters`, `Conditions`, `Rules`, `Mappings`, ...) are copied verbatim: they
 * hold condition functions and declarations, not values (CDK's `CheckBootstrapVersion` rule, for one,
 * would otherwise have to be evaluated).
 *
 * @throws Error on any intrinsic that cannot be resolved
 */
export function resolveTemplate(template: any, env: ResolveEnv): any {
  const resolver = new Resolver(template, env);
  const result: any = {};
  for (const [section, value] of Object.entries(template ?? {})) {
    result[section] = RESOLVED_SECTIONS.includes(section)
      ? resolver.resolve(value, section)
      : JSON.parse(JSON.stringify(value));
  }
  return result;
}

/**
 * Resolves the intrinsics in one value (a policy document, a property, ...) taken from `template`,
 * without touching the rest of the template.
 *
 * @throws Error on any intrinsic that cannot be resolved
 */
export function resolveValue(value: any, template: any, env: ResolveEnv): any {
  return new Resolver(template, env).resolve(value, '$');
}

class Resolver {
  private readonly resources: { [logicalId: string]: any };
  private readonly parameters: { [name: string]: any };
  private readonly conditions: { [name: string]: any };
  private readonly mappings: { [name: string]: any };
  /** Guards against reference cycles, e.g. a role name computed from itself. */
  private readonly inProgress = new Set<string>();

  constructor(
    template: any,
    private readonly env: ResolveEnv,
  ) {
    this.resources = template?.Resources ?? {};
    this.parameters = template?.Parameters ?? {};
    this.conditions = template?.Conditions ?? {};
    this.mappings = template?.Mappings ?? {};
  }

  /** Deeply resolves `value`; `path` locates it in the template for error messages. */
  public resolve(value: any, path: string): any {
    const resolved = this.resolveOrNoValue(value, path);
    if (resolved === NO_VALUE) {
      throw new Error(`${path}: 'Ref: AWS::NoValue' is only supported as a property value or list element`);
    }
    return resolved;
  }

  private resolveOrNoValue(value: any, path: string): any {
    if (Array.isArray(value)) {
      return value
        .map((element, i) => this.resolveOrNoValue(element, `${path}[${i}]`))
        .filter((element) => element !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    const intrinsic = intrinsicName(value);
    if (intrinsic) {
      return this.resolveIntrinsic(intrinsic, value[intrinsic], `${path}.${intrinsic}`);
    }
    const result: any = {};
    for (const [key, element] of Object.entries(value)) {
      const resolved = this.resolveOrNoValue(element, `${path}.${key}`);
      if (resolved !== NO_VALUE) {
        result[key] = resolved;
      }
    }
    return result;
  }

  private resolveIntrinsic(name: string, args: any, path: string): any {
    switch (name) {
      case 'Ref':
        return this.ref(this.resolveString(args, path), path);
      case 'Fn::GetAtt':
        return this.getAttIntrinsic(args, path);
      case 'Fn::Join':
        return this.join(args, path);
      case 'Fn::Select':
        return this.select(args, path);
      case 'Fn::Split':
        return this.split(args, path);
      case 'Fn::Sub':
        return this.sub(args, path);
      case 'Fn::ImportValue':
        return this.importValue(args, path);
      case 'Fn::FindInMap':
        return this.findInMap(args, path);
      case 'Fn::If':
        return this.fnIf(args, path);
      case 'Condition':
      case 'Fn::Equals':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not':
        return this.condition({ [name]: args }, path);
      default:
        throw new Error(`${path}: unsupported intrinsic function '${name}'`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Ref and Fn::GetAtt
  // ---------------------------------------------------------------------------------------------

  private ref(name: string, path: string): any {
    switch (name) {
      case 'AWS::Partition':
        return this.env.partition;
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::AccountId':
        return this.env.account;
      case 'AWS::URLSuffix':
        return this.env.urlSuffix ?? URL_SUFFIXES[this.env.partition] ?? 'amazonaws.com';
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    if (name.startsWith('AWS::')) {
      throw new Error(`${path}: unsupported pseudo parameter '${name}'`);
    }
    if (name in this.parameters) {
      return this.parameterValue(name, path);
    }
    const resource = this.resources[name];
    if (!resource) {
      throw new Error(`${path}: 'Ref' to '${name}', which is neither a parameter nor a resource of the template`);
    }
    return this.guarded(`Ref:${name}`, path, () => this.resourceRef(name, resource, path));
  }

  private parameterValue(name: string, path: string): string | string[] {
    const parameter = this.parameters[name];
    const value = this.env.parameters?.[name] ?? parameter.Default;
    if (value === undefined) {
      throw new Error(`${path}: parameter '${name}' has no value in ResolveEnv.parameters and no Default`);
    }
    const text = String(value);
    const type: string = parameter.Type ?? 'String';
    return type === 'CommaDelimitedList' || type.startsWith('List<') ? text.split(',') : text;
  }

  private resourceRef(logicalId: string, resource: any, path: string): string {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::StepFunctions::StateMachine':
        return this.stateMachineArn(logicalId, resource, path);
      case 'AWS::StepFunctions::StateMachineVersion':
        return this.stateMachineVersionArn(logicalId, resource, path);
      case 'AWS::StepFunctions::StateMachineAlias':
        return this.stateMachineAliasArn(logicalId, resource, path);
      case 'AWS::IAM::Role':
        return this.roleName(logicalId, resource, path);
      case 'AWS::IAM::ManagedPolicy': {
        const policyPath = this.iamPath(props.Path, `${path}(${logicalId}.Path)`);
        const name = this.optionalString(props.ManagedPolicyName, `${path}(${logicalId}.ManagedPolicyName)`);
        return `arn:${this.env.partition}:iam::${this.env.account}:policy${policyPath}${name ?? logicalId}`;
      }
      default:
        // AWS::IAM::Policy and any other type: the logical id stands in for the physical id.
        return logicalId;
    }
  }

  private getAttIntrinsic(args: any, path: string): any {
    let logicalId: string;
    let attribute: string;
    if (typeof args === 'string') {
      const dot = args.indexOf('.');
      if (dot < 0) {
        throw new Error(`${path}: malformed Fn::GetAtt '${args}'`);
      }
      logicalId = args.slice(0, dot);
      attribute = args.slice(dot + 1);
    } else if (Array.isArray(args) && args.length === 2) {
      logicalId = this.resolveString(args[0], `${path}[0]`);
      attribute = this.resolveString(args[1], `${path}[1]`);
    } else {
      throw new Error(`${path}: malformed Fn::GetAtt ${JSON.stringify(args)}`);
    }
    return this.getAtt(logicalId, attribute, path);
  }

  private getAtt(logicalId: string, attribute: string, path: string): string {
    const resource = this.resources[logicalId];
    if (!resource) {
      throw new Error(`${path}: Fn::GetAtt on '${logicalId}', which is not a resource of the template`);
    }
    return this.guarded(`GetAtt:${logicalId}.${attribute}`, path, () => {
      const props = resource.Properties ?? {};
      const type: string = resource.Type;
      switch (`${type}.${attribute}`) {
        case 'AWS::StepFunctions::StateMachine.Arn':
          return this.stateMachineArn(logicalId, resource, path);
        case 'AWS::StepFunctions::StateMachine.Name':
          return this.stateMachineName(logicalId, resource, path);
        case 'AWS::StepFunctions::StateMachineVersion.Arn':
          return this.stateMachineVersionArn(logicalId, resource, path);
        case 'AWS::StepFunctions::StateMachineAlias.Arn':
          return this.stateMachineAliasArn(logicalId, resource, path);
        case 'AWS::IAM::Role.Arn': {
          const rolePath = this.iamPath(props.Path, `${path}(${logicalId}.Path)`);
          return `arn:${this.env.partition}:iam::${this.env.account}:role${rolePath}${this.roleName(logicalId, resource, path)}`;
        }
        case 'AWS::IAM::Role.RoleId':
          return `AROA${logicalId.toUpperCase()}`;
        case 'AWS::IAM::ManagedPolicy.PolicyArn':
          return this.resourceRef(logicalId, resource, path);
        case 'AWS::KMS::Key.Arn':
          return `arn:${this.env.partition}:kms:${this.env.region}:${this.env.account}:key/${logicalId}`;
        default:
          throw new Error(`${path}: unsupported Fn::GetAtt '${attribute}' of '${logicalId}' (${type})`);
      }
    });
  }

  private stateMachineName(logicalId: string, resource: any, path: string): string {
    const name = this.optionalString(resource.Properties?.StateMachineName, `${path}(${logicalId}.StateMachineName)`);
    return name ?? logicalId;
  }

  private stateMachineArn(logicalId: string, resource: any, path: string): string {
    const name = this.stateMachineName(logicalId, resource, path);
    return `arn:${this.env.partition}:states:${this.env.region}:${this.env.account}:stateMachine:${name}`;
  }

  /**
   * `arn:...:stateMachine:<name>:<n>`. CloudFormation numbers versions as they are published; here `n` is
   * the 1-based position of this version among the template's versions of the same state machine.
   */
  private stateMachineVersionArn(logicalId: string, resource: any, path: string): string {
    const stateMachineArn = this.resolveString(
      resource.Properties?.StateMachineArn,
      `${path}(${logicalId}.StateMachineArn)`,
    );
    const siblings = Object.entries(this.resources).filter(
      ([, other]) =>
        other.Type === 'AWS::StepFunctions::StateMachineVersion' &&
        JSON.stringify(other.Properties?.StateMachineArn) === JSON.stringify(resource.Properties?.StateMachineArn),
    );
    const number = siblings.findIndex(([id]) => id === logicalId) + 1;
    return `${stateMachineArn}:${number}`;
  }

  /** `arn:...:stateMachine:<state machine name>:<alias name>`. */
  private stateMachineAliasArn(logicalId: string, resource: any, path: string): string {
    const props = resource.Properties ?? {};
    const versionArn =
      props.DeploymentPreference?.StateMachineVersionArn ?? props.RoutingConfiguration?.[0]?.StateMachineVersionArn;
    if (versionArn === undefined) {
      throw new Error(`${path}: state machine alias '${logicalId}' has no version to derive its ARN from`);
    }
    const resolvedVersionArn = this.resolveString(versionArn, `${path}(${logicalId} version)`);
    const stateMachineArn = resolvedVersionArn.split(':').slice(0, 7).join(':');
    const name = this.optionalString(props.Name, `${path}(${logicalId}.Name)`) ?? logicalId;
    return `${stateMachineArn}:${name}`;
  }

  private roleName(logicalId: string, resource: any, path: string): string {
    return this.optionalString(resource.Properties?.RoleName, `${path}(${logicalId}.RoleName)`) ?? logicalId;
  }

  /** IAM paths start and end with '/'; absent means '/'. */
  private iamPath(value: any, path: string): string {
    const iamPath = this.optionalString(value, path) ?? '/';
    const leading = iamPath.startsWith('/') ? iamPath : `/${iamPath}`;
    return leading.endsWith('/') ? leading : `${leading}/`;
  }

  // ---------------------------------------------------------------------------------------------
  // String and list functions
  // ---------------------------------------------------------------------------------------------

  private join(args: any, path: string): string {
    if (!Array.isArray(args) || args.length !== 2) {
      throw new Error(`${path}: Fn::Join expects [delimiter, list], got ${JSON.stringify(args)}`);
    }
    const delimiter = this.resolveString(args[0], `${path}[0]`);
    const list = this.resolveList(args[1], `${path}[1]`);
    return list.join(delimiter);
  }

  private select(args: any, path: string): any {
    if (!Array.isArray(args) || args.length !== 2) {
      throw new Error(`${path}: Fn::Select expects [index, list], got ${JSON.stringify(args)}`);
    }
    const index = Number(this.resolve(args[0], `${path}[0]`));
    const list = this.resolveList(args[1], `${path}[1]`, false);
    if (!Number.isInteger(index) || index < 0 || index >= list.length) {
      throw new Error(`${path}: Fn::Select index ${args[0]} is out of range for ${JSON.stringify(list)}`);
    }
    return list[index];
  }

  private split(args: any, path: string): string[] {
    if (!Array.isArray(args) || args.length !== 2) {
      throw new Error(`${path}: Fn::Split expects [delimiter, string], got ${JSON.stringify(args)}`);
    }
    const delimiter = this.resolveString(args[0], `${path}[0]`);
    return this.resolveString(args[1], `${path}[1]`).split(delimiter);
  }

  private sub(args: any, path: string): string {
    let template: string;
    let variables: { [name: string]: any } = {};
    if (typeof args === 'string') {
      template = args;
    } else if (Array.isArray(args) && args.length === 2 && typeof args[0] === 'string') {
      template = args[0];
      variables = args[1] ?? {};
    } else {
      throw new Error(`${path}: Fn::Sub expects a string or [string, variables], got ${JSON.stringify(args)}`);
    }
    return template.replace(/\$\{([^}]*)\}/g, (_match, expression: string) => {
      if (expression.startsWith('!')) {
        return `\${${expression.slice(1)}}`;
      }
      const name = expression.trim();
      if (name in variables) {
        return this.resolveString(variables[name], `${path}[1].${name}`);
      }
      const dot = name.indexOf('.');
      const value = dot < 0 ? this.ref(name, path) : this.getAtt(name.slice(0, dot), name.slice(dot + 1), path);
      return this.asString(value, `${path} \${${name}}`);
    });
  }

  private importValue(args: any, path: string): string {
    const exportName = this.resolveString(args, path);
    const value = this.env.imports?.[exportName];
    if (value === undefined) {
      throw new Error(`${path}: no value for Fn::ImportValue '${exportName}' in ResolveEnv.imports`);
    }
    return value;
  }

  private findInMap(args: any, path: string): any {
    if (!Array.isArray(args) || args.length < 3) {
      throw new Error(`${path}: Fn::FindInMap expects [map, topKey, secondKey], got ${JSON.stringify(args)}`);
    }
    const [mapName, topKey, secondKey] = args.slice(0, 3).map((arg, i) => this.resolveString(arg, `${path}[${i}]`));
    const value = this.mappings[mapName]?.[topKey]?.[secondKey];
    if (value === undefined) {
      throw new Error(`${path}: mapping '${mapName}' has no entry '${topKey}'/'${secondKey}'`);
    }
    return JSON.parse(JSON.stringify(value));
  }

  // ---------------------------------------------------------------------------------------------
  // Conditions
  // ---------------------------------------------------------------------------------------------

  private fnIf(args: any, path: string): any {
    if (!Array.isArray(args) || args.length !== 3 || typeof args[0] !== 'string') {
      throw new Error(`${path}: Fn::If expects [condition, ifTrue, ifFalse], got ${JSON.stringify(args)}`);
    }
    const chosen = this.condition({ Condition: args[0] }, `${path}[0]`) ? args[1] : args[2];
    return this.resolveOrNoValue(chosen, path);
  }

  private condition(expression: any, path: string): boolean {
    if (typeof expression === 'boolean') {
      return expression;
    }
    const name = intrinsicName(expression);
    const args = name ? expression[name] : undefined;
    switch (name) {
      case 'Condition': {
        if (!(args in this.conditions)) {
          throw new Error(`${path}: unknown condition '${args}'`);
        }
        return this.guarded(`Condition:${args}`, path, () =>
          this.condition(this.conditions[args], `Conditions.${args}`),
        );
      }
      case 'Fn::Equals': {
        if (!Array.isArray(args) || args.length !== 2) {
          throw new Error(`${path}: Fn::Equals expects two values, got ${JSON.stringify(args)}`);
        }
        const [left, right] = args.map((arg, i) => JSON.stringify(this.resolve(arg, `${path}.Fn::Equals[${i}]`)));
        return left === right;
      }
      case 'Fn::And':
        return this.conditionList(args, `${path}.Fn::And`).every((value) => value);
      case 'Fn::Or':
        return this.conditionList(args, `${path}.Fn::Or`).some((value) => value);
      case 'Fn::Not': {
        const [operand] = this.conditionList(args, `${path}.Fn::Not`);
        return !operand;
      }
      default:
        throw new Error(`${path}: unsupported condition expression ${JSON.stringify(expression)}`);
    }
  }

  private conditionList(args: any, path: string): boolean[] {
    if (!Array.isArray(args)) {
      throw new Error(`${path}: expects a list of conditions, got ${JSON.stringify(args)}`);
    }
    return args.map((arg, i) => this.condition(arg, `${path}[${i}]`));
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------------

  private resolveString(value: any, path: string): string {
    return this.asString(this.resolve(value, path), path);
  }

  private optionalString(value: any, path: string): string | undefined {
    return value === undefined ? undefined : this.resolveString(value, path);
  }

  /**
   * Resolves a list argument. A list may be literal (with intrinsic elements) or itself the result of an
   * intrinsic (Fn::Split, a CommaDelimitedList parameter, ...).
   */
  private resolveList(value: any, path: string, stringsOnly = true): any[] {
    const resolved = this.resolve(value, path);
    if (!Array.isArray(resolved)) {
      throw new Error(`${path}: expected a list, got ${JSON.stringify(resolved)}`);
    }
    return stringsOnly ? resolved.map((element, i) => this.asString(element, `${path}[${i}]`)) : resolved;
  }

  private asString(value: any, path: string): string {
    if (typeof value === 'string') {
      return value;
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    throw new Error(`${path}: expected a string, got ${JSON.stringify(value)}`);
  }

  private guarded<T>(key: string, path: string, compute: () => T): T {
    if (this.inProgress.has(key)) {
      throw new Error(`${path}: circular reference through ${key}`);
    }
    this.inProgress.add(key);
    try {
      return compute();
    } finally {
      this.inProgress.delete(key);
    }
  }
}

/** The intrinsic function of `value` if it is an intrinsic call (an object with a single `Ref`, `Fn::*` or `Condition` key). */
function intrinsicName(value: any): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    return undefined;
  }
  const [key] = keys;
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? key : undefined;
}
