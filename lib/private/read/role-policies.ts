/**
 * The one finder of a role's policies in a template (synthesized, or read from a file), for the quota accounting of
 * the constructs, the checks and the command line: every inline policy (the role's own `Policies`,
 * `AWS::IAM::Policy` and `AWS::IAM::RolePolicy` naming the role) and every managed policy (`AWS::IAM::ManagedPolicy`
 * naming the role in `Roles`, or named in the role's `ManagedPolicyArns`).
 */

/** A resource as the finder reads it: its type and properties (`Roles`, `RoleName`, `PolicyDocument`, ...). */
export interface PolicyResource {
  readonly Type: string;
  readonly Properties?: { readonly [key: string]: unknown };
}

/** A policy that applies to the role. */
export interface FoundPolicy {
  /** The resource that holds it: the policy, or the role itself for its own `Policies`. */
  readonly logicalId: string;
  /** `Policies` (the role's own), or the type of the policy resource. */
  readonly source: 'Policies' | 'AWS::IAM::Policy' | 'AWS::IAM::RolePolicy' | 'AWS::IAM::ManagedPolicy';
  readonly inline: boolean;
  /** For the role's own `Policies`: the index and the `PolicyName`. */
  readonly index?: number;
  readonly policyName?: unknown;
  readonly document: unknown;
}

/** An entry of the role's `ManagedPolicyArns`: a managed policy of the template, or one from elsewhere. */
export interface ManagedPolicyArn {
  readonly arn: unknown;
  /** The managed policy of the template it names, if any. */
  readonly logicalId?: string;
}

export interface RolePolicies {
  /** The role's own `Policies` first, then the policy resources in template order. */
  readonly policies: FoundPolicy[];
  /** The role's `ManagedPolicyArns`, in order. */
  readonly managedPolicyArns: ManagedPolicyArn[];
}

/** Whether `value` is `{ Ref: logicalId }`: how a resolved template names a resource of its own. */
export function refersByRef(value: unknown, logicalId: string): boolean {
  return (value as { Ref?: unknown } | null)?.Ref === logicalId;
}

/**
 * The policies of the template that apply to the role `roleId`.
 *
 * @param refersTo whether a value (a `Roles` entry, a `RoleName`, a `ManagedPolicyArns` entry) names the resource
 *   `logicalId` (its `Ref`): the caller decides how values compare (resolved by CDK, or by the template reader)
 */
export function findRolePolicies(
  roleId: string,
  resources: Iterable<[string, PolicyResource]>,
  refersTo: (value: unknown, logicalId: string) => boolean,
): RolePolicies {
  const all = [...resources];
  const role = all.find(([id]) => id === roleId)?.[1];
  const props = role?.Properties ?? {};
  const policies: FoundPolicy[] = [];
  list(props.Policies).forEach((policy, index) => {
    if (typeof policy !== 'object' || policy === null) return;
    const { PolicyName: policyName, PolicyDocument: document } = policy as { [key: string]: unknown };
    policies.push({ logicalId: roleId, source: 'Policies', inline: true, index, policyName, document });
  });
  const managedPolicies = all.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy');
  const managedPolicyArns: ManagedPolicyArn[] = list(props.ManagedPolicyArns).map((arn) => ({
    arn,
    logicalId: managedPolicies.find(([id]) => refersTo(arn, id))?.[0],
  }));
  const attached = new Set(managedPolicyArns.map((m) => m.logicalId));
  const namesRole = (value: unknown) => refersTo(value, roleId);
  for (const [logicalId, resource] of all) {
    const p = resource.Properties ?? {};
    const document = p.PolicyDocument;
    const roles = list(p.Roles);
    if (resource.Type === 'AWS::IAM::Policy' && roles.some(namesRole)) {
      policies.push({ logicalId, source: resource.Type, inline: true, document });
    } else if (resource.Type === 'AWS::IAM::RolePolicy' && p.RoleName !== undefined && namesRole(p.RoleName)) {
      policies.push({ logicalId, source: resource.Type, inline: true, document });
    } else if (resource.Type === 'AWS::IAM::ManagedPolicy' && (roles.some(namesRole) || attached.has(logicalId))) {
      policies.push({ logicalId, source: resource.Type, inline: false, document });
    }
  }
  return { policies, managedPolicyArns };
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
