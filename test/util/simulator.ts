/**
 * Runs the IAM policy simulator `@cloud-copilot/iam-simulate` on the policies of a role taken from a
 * synthesized CloudFormation template.
 *
 * Notes on iam-simulate (0.1.173) behaviour that shaped this code:
 *
 * - Malformed input is reported as `resultType: 'error'` (bad policy grammar, unknown service or action in
 *   the *request*, a resource ARN that does not match any resource type of the action, a non-'*' resource
 *   for a wildcard-only action). We throw with the simulator's message.
 * - Context keys that do not apply to the action / resource type are NOT reported as errors: they are
 *   silently dropped and listed in `ignoredContextKeys`, so a condition on them would simply not match. We
 *   throw when any key was dropped.
 * - Keys whose variable part follows a colon, such as `kms:EncryptionContext:aws:states:stateMachineArn`
 *   (spec `kms:EncryptionContext:${EncryptionContextKey}`), are always dropped by that filter (it only
 *   recognises variables after a '/', like `aws:ResourceTag/${TagKey}`). When every dropped key matches such
 *   a colon-variable key of the action, the request (already validated by `runSimulation`) is evaluated
 *   again with `runUnsafeSimulation`, which does not filter context keys.
 * - Unknown actions in a *policy* are not reported (the statement just never matches); we check them
 *   ourselves against the simulator's IAM data, otherwise a typo would pass every "is denied" test.
 * - Multi-valued keys: `states:StateMachineQualifier` is typed `ArrayOfString`. A single string value is
 *   wrapped into a one-element list, so `'PROD'` and `['PROD']` are equivalent. `ForAnyValue:StringEquals`
 *   matches when any value equals; when the key is absent it does not match (StartExecution on an
 *   unqualified ARN is denied by such a statement), whereas `ForAllValues:StringEquals` matches an absent
 *   key (allowed). A plain `StringEquals` on the multi-valued key never matches, even for a one-element
 *   list. For single-valued keys, a list value is silently reduced to its first element by the simulator;
 *   we throw instead when a list of more than one value is given for a single-valued key.
 * - Same account vs. cross account: the simulator decides on `request.resource.accountId`, not on the
 *   account in the resource ARN. With a different account and no resource policy, the result is always
 *   `ImplicitlyDenied`. `simulate` therefore evaluates identity policies (plus boundary) as a same-account
 *   request: the resource side of a cross-account request is evaluated separately (`simulateTrust`).
 * - KMS keys never trust IAM policies implicitly: without a key policy that allows the account,
 *   `kms:*` requests on a key are denied. `simulate` supplies the default key policy (account root allowed
 *   `kms:*`), i.e. the key delegates to IAM.
 * - STS trust policies: a same-account principal named directly in the trust policy is allowed without any
 *   identity policy; a principal of another account (or allowed through its account root) also needs an
 *   identity policy allowing `sts:AssumeRole`. `simulateTrust` gives ARN principals such an identity
 *   policy, so that the decision reflects the trust policy alone. Service principals (e.g.
 *   `states.amazonaws.com`) are plain strings, matched against `Principal.Service`, and `aws:SourceAccount`
 *   / `aws:SourceArn` conditions are evaluated against the supplied context.
 * - `runUnsafeSimulation` loads the resource policy without a name and then crashes reading it; it accepts
 *   a pre-validated policy (`{ __validated: true, policyDocument, metadata, errors }`), which carries one.
 */
import {
  allowedContextKeysForRequest,
  isConditionKeyArray,
  isWildcardOnlyAction,
  runSimulation,
  runUnsafeSimulation,
  typeForContextKey,
  type ConditionKeyType,
  type Simulation,
} from '@cloud-copilot/iam-simulate';
import { resolveValue, type ResolveEnv } from './resolve';

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface RolePolicies {
  /** Resolved policy documents attached to the role. */
  readonly identityPolicies: any[];
  /** Resolved AssumeRolePolicyDocument. */
  readonly trustPolicy: any;
  /** Resolved managed policy document, if the boundary is a managed policy in the template; undefined otherwise. */
  readonly permissionsBoundary?: any;
  /** How many AWS::IAM::Policy + AWS::IAM::ManagedPolicy resources attach to the role. */
  readonly policyResourceCount: number;
  /** ARN of the role, used as the principal by `simulate`. */
  readonly roleArn?: string;
}

export interface Probe {
  /** e.g. 'states:StartExecution' */
  readonly action: string;
  /** Full ARN, or '*' for a wildcard-only action. */
  readonly resource: string;
  /** Request context keys, e.g. 'states:StateMachineQualifier'. */
  readonly context?: { [key: string]: string | string[] };
}

export interface TrustProbe {
  /** e.g. 'states.amazonaws.com' */
  readonly servicePrincipal?: string;
  /** e.g. an IAM role ARN (for cross-account target roles) */
  readonly principalArn?: string;
  /** e.g. 'aws:SourceAccount', 'aws:SourceArn', 'sts:ExternalId' */
  readonly context?: { [key: string]: string | string[] };
  /** The action to evaluate. Default: 'sts:AssumeRole'. */
  readonly action?: string;
}

type Context = { [key: string]: string | string[] };

/** Logical ids of every AWS::IAM::Role of the (unresolved) template, in template order. */
export function findRoleLogicalIds(template: any): string[] {
  return Object.entries(template?.Resources ?? {})
    .filter(([, resource]: [string, any]) => resource.Type === 'AWS::IAM::Role')
    .map(([logicalId]) => logicalId);
}

/**
 * The logical id of the one role of `template` whose id starts with `prefix` (the tests name the parent's role
 * `ParentRole`).
 *
 * @throws Error unless exactly one role's id starts with `prefix`
 */
export function parentRoleId(template: any, prefix = 'ParentRole'): string {
  const roles = findRoleLogicalIds(template).filter((id) => id.startsWith(prefix));
  if (roles.length !== 1) throw new Error(`expected one role whose id starts with ${prefix}, got: ${roles.join(', ')}`);
  return roles[0];
}

/** The resolved policies of the parent's role of `template` (`parentRoleId`). */
export function parentRolePolicies(template: any, env: ResolveEnv, prefix = 'ParentRole'): RolePolicies {
  return rolePolicies(template, parentRoleId(template, prefix), env);
}

/**
 * Collects every policy attached to the role `roleLogicalId` of the (unresolved) template: the role's inline
 * `Policies`, every AWS::IAM::Policy whose `Roles` contains `{ Ref: roleLogicalId }`, every
 * AWS::IAM::RolePolicy whose `RoleName` is `{ Ref: roleLogicalId }`, and every AWS::IAM::ManagedPolicy whose
 * `Roles` contains `{ Ref: roleLogicalId }` or which appears in the role's `ManagedPolicyArns`.
 *
 * @throws Error if the role has a managed policy ARN that is not a managed policy of the template (its
 *   document is unknown, so no simulation could be trusted)
 */
export function rolePolicies(template: any, roleLogicalId: string, env: ResolveEnv): RolePolicies {
  const resources: { [logicalId: string]: any } = template?.Resources ?? {};
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') {
    throw new Error(`'${roleLogicalId}' is not an AWS::IAM::Role of the template`);
  }
  const props = role.Properties ?? {};
  const resolve = (value: any) => resolveValue(value, template, env);
  const refsRole = (value: any) => isRefTo(value, roleLogicalId);

  const identityPolicies: any[] = (props.Policies ?? []).map((policy: any) => resolve(policy.PolicyDocument));
  let policyResourceCount = 0;

  const attachedManagedPolicies = new Set<string>();
  for (const [index, arn] of (props.ManagedPolicyArns ?? []).entries()) {
    const managedPolicyId = managedPolicyLogicalId(arn, resources);
    if (!managedPolicyId) {
      throw new Error(
        `role '${roleLogicalId}' has a managed policy that is not defined in the template ` +
          `(ManagedPolicyArns[${index}] = ${JSON.stringify(arn)}); its permissions cannot be simulated`,
      );
    }
    attachedManagedPolicies.add(managedPolicyId);
  }

  for (const [logicalId, resource] of Object.entries(resources)) {
    const resourceProps = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
        if ((resourceProps.Roles ?? []).some(refsRole)) {
          identityPolicies.push(resolve(resourceProps.PolicyDocument));
          policyResourceCount++;
        }
        break;
      case 'AWS::IAM::ManagedPolicy':
        if ((resourceProps.Roles ?? []).some(refsRole) || attachedManagedPolicies.has(logicalId)) {
          identityPolicies.push(resolve(resourceProps.PolicyDocument));
          policyResourceCount++;
        }
        break;
      case 'AWS::IAM::RolePolicy':
        if (refsRole(resourceProps.RoleName)) {
          identityPolicies.push(resolve(resourceProps.PolicyDocument));
        }
        break;
    }
  }

  const boundaryId =
    props.PermissionsBoundary === undefined ? undefined : managedPolicyLogicalId(props.PermissionsBoundary, resources);
  const roleArn = resolve({ 'Fn::GetAtt': [roleLogicalId, 'Arn'] });

  return {
    identityPolicies,
    trustPolicy: resolve(props.AssumeRolePolicyDocument),
    permissionsBoundary: boundaryId ? resolve(resources[boundaryId].Properties.PolicyDocument) : undefined,
    policyResourceCount,
    roleArn,
  };
}

/**
 * Evaluates the role's identity policies (and permissions boundary, if any) for `probe`, the role itself being
 * the principal.
 *
 * The request is evaluated as a same-account request (the resource's account is taken to be `env.account`,
 * whatever the ARN says): this answers "do the role's own policies allow it?". Whether the resource side
 * accepts a cross-account caller is a separate question (see `simulateTrust`).
 *
 * @throws Error if the simulator rejects the request or the policies (with its message), or a context key
 *   does not apply to the action
 */
export async function simulate(policies: RolePolicies, probe: Probe, env: ResolveEnv): Promise<Decision> {
  const principal = policies.roleArn ?? `arn:${env.partition}:iam::${env.account}:role/SimulatedRole`;
  const isKms = probe.action.toLowerCase().startsWith('kms:') && probe.resource !== '*';
  const simulation: Simulation = {
    request: {
      principal,
      action: probe.action,
      resource: { resource: probe.resource, accountId: env.account },
      contextVariables: { ...(probe.context ?? {}) },
    },
    identityPolicies: policies.identityPolicies.map((policy, i) => ({ name: `identity-policy-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    permissionBoundaryPolicies:
      policies.permissionsBoundary === undefined
        ? undefined
        : [{ name: 'permissions-boundary', policy: policies.permissionsBoundary }],
    resourcePolicy: isKms ? defaultKeyPolicy(env.partition, env.account) : undefined,
  };
  return evaluate(simulation);
}

/**
 * Evaluates the role's trust policy (the resource policy of the role) for `sts:AssumeRole` (or `probe.action`)
 * on `roleArn` by a service principal or by an IAM principal.
 *
 * An IAM principal (`principalArn`) is given an identity policy allowing the action on the role, so the
 * decision reflects the trust policy only.
 */
export async function simulateTrust(policies: RolePolicies, roleArn: string, probe: TrustProbe): Promise<Decision> {
  if ((probe.servicePrincipal === undefined) === (probe.principalArn === undefined)) {
    throw new Error('simulateTrust: give exactly one of servicePrincipal and principalArn');
  }
  if (!policies.trustPolicy) {
    throw new Error('simulateTrust: the role has no trust policy');
  }
  const roleAccount = roleArn.split(':')[4];
  if (!roleArn.startsWith('arn:') || !roleAccount) {
    throw new Error(`simulateTrust: '${roleArn}' is not a role ARN`);
  }
  const action = probe.action ?? 'sts:AssumeRole';
  const callerPolicy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: roleArn }],
  };
  const simulation: Simulation = {
    request: {
      principal: (probe.servicePrincipal ?? probe.principalArn) as string,
      action,
      resource: { resource: roleArn, accountId: roleAccount },
      contextVariables: { ...(probe.context ?? {}) },
    },
    identityPolicies: probe.principalArn ? [{ name: 'caller-identity-policy', policy: callerPolicy }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policies.trustPolicy,
  };
  return evaluate(simulation);
}

// -----------------------------------------------------------------------------------------------
// Internals
// -----------------------------------------------------------------------------------------------

async function evaluate(simulation: Simulation): Promise<Decision> {
  const { action, resource } = simulation.request;
  const where = `${action} on ${resource.resource}`;
  if (resource.resource !== '*' && resource.resource.includes('*')) {
    throw new Error(`${where}: a request is made on one concrete resource, not on a pattern`);
  }
  await checkPolicyActions(simulation);
  await checkContextValues(simulation.request.contextVariables, where);

  const result = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType === 'error') {
    throw new Error(
      `iam-simulate rejected ${where}: ${result.errors.message}\n${JSON.stringify(result.errors, null, 2)}`,
    );
  }
  if (result.resultType !== 'single') {
    throw new Error(`${where}: resource '*' is only valid for a wildcard-only action; give a concrete ARN`);
  }

  const ignored = result.result.ignoredContextKeys ?? [];
  if (ignored.length === 0) {
    return result.overallResult;
  }
  const [service, actionName] = action.split(':');
  const allowedKeys = await allowedContextKeysForRequest(service, actionName, resource.resource, false, undefined);
  const unsupported = ignored.filter((key) => !matchesColonVariableKey(key, allowedKeys));
  if (unsupported.length > 0) {
    throw new Error(
      `iam-simulate ignored context key(s) ${unsupported.join(', ')}, which do not apply to ${where}; ` +
        'a condition on them could never match',
    );
  }
  // Only colon-variable keys (kms:EncryptionContext:<key>) were dropped: evaluate again without the key filter.
  const contextVariables = await normalizeContext(simulation.request.contextVariables);
  return runUnsafeSimulation(
    {
      ...simulation,
      request: { ...simulation.request, contextVariables },
      resourcePolicy: simulation.resourcePolicy && {
        __validated: true,
        policyDocument: simulation.resourcePolicy,
        metadata: { name: 'resource-policy' },
        errors: [],
      },
    },
    { simulationMode: 'Strict' },
  );
}

/** Throws if a policy names an action (without wildcard) that does not exist in the simulator's IAM data. */
async function checkPolicyActions(simulation: Simulation): Promise<void> {
  const documents = [
    ...simulation.identityPolicies.map((policy) => policy.policy),
    ...(simulation.permissionBoundaryPolicies ?? []).map((policy) => policy.policy),
    ...(simulation.resourcePolicy ? [simulation.resourcePolicy] : []),
  ];
  const unknown: string[] = [];
  for (const document of documents) {
    for (const statement of [document?.Statement ?? []].flat()) {
      for (const action of [statement.Action ?? [], statement.NotAction ?? []].flat()) {
        if (typeof action !== 'string' || action === '*' || action.includes('*') || action.includes('?')) {
          continue;
        }
        const [service, name] = action.split(':');
        if (!service || !name || !(await actionExists(service, name))) {
          unknown.push(action);
        }
      }
    }
  }
  if (unknown.length > 0) {
    throw new Error(`policy names action(s) unknown to iam-simulate: ${[...new Set(unknown)].join(', ')}`);
  }
}

async function actionExists(service: string, action: string): Promise<boolean> {
  try {
    await isWildcardOnlyAction(service.toLowerCase(), action);
    return true;
  } catch {
    return false;
  }
}

/** Throws on unknown context keys and on several values for a single-valued key. */
async function checkContextValues(context: Context, where: string): Promise<void> {
  for (const [key, value] of Object.entries(context)) {
    const type = await contextKeyType(key, where);
    if (!isConditionKeyArray(type) && Array.isArray(value) && value.length !== 1) {
      throw new Error(`${where}: context key ${key} is single-valued (${type}) but got ${JSON.stringify(value)}`);
    }
  }
}

/** Values as `runSimulation` would pass them: lists for multi-valued keys, strings otherwise. */
async function normalizeContext(context: Context): Promise<Context> {
  const result: Context = {};
  for (const [key, value] of Object.entries(context)) {
    const type = await contextKeyType(key, key);
    result[key] = isConditionKeyArray(type) ? [value].flat() : [value].flat()[0];
  }
  return result;
}

async function contextKeyType(key: string, where: string): Promise<ConditionKeyType> {
  try {
    return await typeForContextKey(key);
  } catch (e) {
    throw new Error(`${where}: unknown context key ${key} (${(e as Error).message})`);
  }
}

/** Whether `key` matches an allowed key whose variable follows a colon, e.g. `kms:encryptioncontext:${encryptioncontextkey}`. */
function matchesColonVariableKey(key: string, allowedKeys: string[]): boolean {
  const lowerKey = key.toLowerCase();
  return allowedKeys.some((allowed) => {
    const variable = allowed.indexOf(':${');
    return (
      variable >= 0 &&
      allowed.endsWith('}') &&
      lowerKey.startsWith(allowed.slice(0, variable + 1)) &&
      lowerKey.length > variable + 1
    );
  });
}

/** The default KMS key policy: the key delegates to the IAM policies of its account. */
function defaultKeyPolicy(partition: string, account: string): any {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

/** Whether `value` is `{ Ref: logicalId }`. */
function isRefTo(value: any, logicalId: string): boolean {
  return value !== null && typeof value === 'object' && value.Ref === logicalId && Object.keys(value).length === 1;
}

/** The logical id of the template's AWS::IAM::ManagedPolicy that `value` ({ Ref } or { Fn::GetAtt PolicyArn }) points to. */
function managedPolicyLogicalId(value: any, resources: { [logicalId: string]: any }): string | undefined {
  let logicalId: string | undefined;
  if (typeof value?.Ref === 'string') {
    logicalId = value.Ref;
  } else if (Array.isArray(value?.['Fn::GetAtt']) && value['Fn::GetAtt'][1] === 'PolicyArn') {
    logicalId = value['Fn::GetAtt'][0];
  }
  return logicalId && resources[logicalId]?.Type === 'AWS::IAM::ManagedPolicy' ? logicalId : undefined;
}

/** What the probe tables expect of a decision: Allowed, or Denied (implicitly or explicitly). */
export function verdict(decision: Decision): 'Allowed' | 'Denied' {
  return decision === 'Allowed' ? 'Allowed' : 'Denied';
}

/** A probe with its label and what a test expects of it (the probe tables' rows). */
export interface ExpectedProbe extends Probe {
  readonly label: string;
  readonly expect: 'Allowed' | 'Denied';
}

/**
 * Simulates every probe on `policies` in `env`; returns `<label>: expected <X>, got <Y>` for each whose verdict is not
 * the expected one (empty when every needed call is Allowed and every near miss Denied).
 */
export async function failedProbes(
  policies: RolePolicies,
  probes: readonly ExpectedProbe[],
  env: ResolveEnv,
): Promise<string[]> {
  const failures: string[] = [];
  for (const probe of probes) {
    const decision = verdict(await simulate(policies, probe, env));
    if (decision !== probe.expect) failures.push(`${probe.label}: expected ${probe.expect}, got ${decision}`);
  }
  return failures;
}
