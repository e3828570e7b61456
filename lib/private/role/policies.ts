import { Annotations, CfnElement, CfnParameter, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IConstruct } from 'constructs';
import { ChildRecord, ENV_UNCHECKED_WARNING } from './child-checks';
import { PackingPhases } from './lifecycle';
import { managedRuleArn } from '../model/arns';
import {
  ACCOUNT_LENGTH,
  INLINE_POLICIES_QUOTA,
  MANAGED_POLICY_QUOTA,
  PARTITION_MAX,
  REGION_MAX,
  STATE_MACHINE_ARN_MAX,
  STATE_MACHINE_NAME_MAX,
  UNKNOWN_VALUE_MAX,
} from '../model/bounds';
import { deployedSize, PackedDocument, packStatements, ReferenceBound } from '../model/packing';
import { renderResolved } from '../model/render';
import { ChildStateMachine, NestedWorkflowGrants, SizedResource } from '../model/statements';
import { findRolePolicies, PolicyResource, refersByRef } from '../read/role-policies';

/**
 * The children of one role and the policies that grant them: packed within IAM's quotas at synthesis (in an aspect,
 * after every `addChild`), created inside the role construct so that whatever depends on the role depends on them.
 */
export class ChildPolicies implements PackingPhases {
  private readonly children: ChildRecord[] = [];
  /** Set once a definition was read: the validation message then says it starts no child. */
  public fromDefinition = false;
  private packingError?: string;
  private packed = false;
  /** What `pack` packed, and the policies it created (left out of the role's other policies). */
  private documents: PackedDocument[] = [];
  private readonly own = new Set<IConstruct>();

  constructor(
    private readonly owner: Construct,
    private readonly role: iam.Role,
    private readonly maxManagedPolicies: number,
  ) {}

  public add(record: ChildRecord): void {
    this.children.push(record);
    // On the inner role, so that `Annotations.of(construct).acknowledgeWarning(id)` silences it.
    if (record.envWarning) Annotations.of(this.role).addWarningV2(ENV_UNCHECKED_WARNING, record.envWarning);
  }

  /** Every child added so far. */
  public records(): ChildRecord[] {
    return [...this.children];
  }

  /**
   * Phase 5: no child; the quotas again (the role's other policies may have changed after packing).
   *
   * @param mapRuns whether the role grants Map Runs: a role whose definitions' only nested workflows are Distributed
   * Maps needs no child
   */
  public validate(mapRuns = false): string[] {
    const kind = this.owner.constructor.name;
    if (this.children.length === 0) {
      if (mapRuns) return [];
      return [
        `${kind} has no child state machine: pass \`child\` in its props or call \`addChild(child)\` before synthesis` +
          (this.fromDefinition
            ? ' (its definition has no task that starts one, arn:<partition>:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken] or aws-sdk:sfn:startSyncExecution, and no Distributed Map).'
            : '.'),
      ];
    }
    if (this.packingError) return [this.packingError];
    // The role's other policies may still have changed after the grants were packed (a later aspect): check again.
    const others = this.otherPolicies();
    const inline = this.documents.find((d) => d.slot === 0);
    const managed = this.documents.filter((d) => d.slot > 0).length;
    if ((inline && inline.size + others.inlineSize > INLINE_POLICIES_QUOTA) || managed > this.managedSlots(others)) {
      return [this.quotaError(this.budgets(others), others)];
    }
    return [];
  }

  /** Phase 4: packs every grant into the fewest policies within IAM's quotas and attaches them to the role (once). */
  public pack(): void {
    if (this.children.length === 0 || this.packed) return;
    this.packed = true;
    const others = this.otherPolicies();
    const budgets = this.budgets(others);
    const documents = this.packFirst(this.children.length, budgets);
    if (!documents) {
      this.packingError = this.quotaError(budgets, others);
      return;
    }
    this.documents = documents;
    let managed = 0;
    for (const document of documents) {
      const policyDocument = new iam.PolicyDocument({
        minimize: false,
        statements: document.statements.map(
          (s) => new iam.PolicyStatement({ actions: s.actions, resources: s.resources, conditions: s.conditions }),
        ),
      });
      if (document.slot === 0) {
        this.own.add(
          new iam.CfnPolicy(this.role, 'NestedWorkflowPolicy', {
            policyName: 'NestedWorkflowPolicy',
            roles: [this.role.roleName],
            policyDocument,
          }),
        );
      } else {
        managed++;
        this.own.add(
          new iam.CfnManagedPolicy(this.role, `NestedWorkflowManagedPolicy${managed}`, {
            description: `Nested workflow grants of ${this.owner.node.path}, part ${managed}`,
            roles: [this.role.roleName],
            policyDocument,
          }),
        );
      }
    }
  }

  /** Packs the first `count` children, or undefined if they do not fit. */
  private packFirst(count: number, budgets: number[]): PackedDocument[] | undefined {
    const grants = new NestedWorkflowGrants();
    for (const record of this.children.slice(0, count)) {
      grants.add(sized(record), record.needs);
    }
    return packStatements(grants.statements(this.managedRule()), budgets);
  }

  /** The managed rule in the parent's region and account (the owner's stack). */
  private managedRule(): SizedResource {
    const stack = Stack.of(this.owner);
    const bound = (value: string, max: number) => (Token.isUnresolved(value) ? max : value.length);
    const length = managedRuleArn({
      partition: 'x'.repeat(bound(stack.partition, PARTITION_MAX)),
      region: 'x'.repeat(bound(stack.region, REGION_MAX)),
      account: 'x'.repeat(ACCOUNT_LENGTH),
    }).length;
    return { arn: managedRuleArn(stack), length };
  }

  /** The budgets of the packing: what the role's other policies leave of the inline quota, then managed policies. */
  private budgets(others: OtherPolicies): number[] {
    return [
      Math.max(0, INLINE_POLICIES_QUOTA - others.inlineSize),
      ...Array<number>(this.managedSlots(others)).fill(MANAGED_POLICY_QUOTA),
    ];
  }

  /** Managed policies this construct may attach: the role's quota less those attached otherwise. */
  private managedSlots(others: OtherPolicies): number {
    return Math.max(0, this.maxManagedPolicies - others.managedCount);
  }

  /** The "first N children fit" error, with N found by bisection (packing is monotonic in the number of children). */
  private quotaError(budgets: number[], others: OtherPolicies): string {
    let fit = 0;
    let misfit = this.children.length;
    while (misfit - fit > 1) {
      const middle = Math.floor((fit + misfit) / 2);
      if (this.packFirst(middle, budgets)) fit = middle;
      else misfit = middle;
    }
    const taken: string[] = [];
    if (others.inlineSize > 0) {
      taken.push(
        (others.inlineSize >= INLINE_POLICIES_QUOTA
          ? `all of the inline characters (up to ${others.inlineSize} once deployed, sizing each token of unknown length at ${UNKNOWN_VALUE_MAX}: `
          : `up to ${others.inlineSize} of the inline characters (`) + `${others.inline.join(', ')})`,
      );
    }
    if (others.managedCount > 0) {
      taken.push(
        `${Math.min(others.managedCount, this.maxManagedPolicies)} of the managed policies (${others.managed.join(', ')})`,
      );
    }
    return (
      `${this.owner.constructor.name} grants for ${this.children.length} children do not fit IAM's quotas ` +
      `(${INLINE_POLICIES_QUOTA} characters of inline policy per role, ${this.maxManagedPolicies} managed policies of ${MANAGED_POLICY_QUOTA}): ` +
      `the first ${fit} children fit.` +
      (taken.length > 0 ? ` The role's other policies take ${taken.join(' and ')}.` : '') +
      ' Split the children across several parent state machines (each with its own role)' +
      (this.maxManagedPolicies < 20
        ? ', or raise the managed policies quota to 20 and set `maxManagedPolicies: 20`.'
        : '.')
    );
  }

  /**
   * The role's policies other than this construct's, which share its quotas: every inline policy attached to it
   * (`AWS::IAM::Policy`, `AWS::IAM::RolePolicy`, the role's own `Policies`: its DefaultPolicy, `attachInlinePolicy`
   * policies, aws-cdk-lib's `DistributedMapPolicy`), sized as deployed with upper bounds for tokens, and every managed
   * policy attached to it (the role's `ManagedPolicyArns`, `AWS::IAM::ManagedPolicy` resources naming it: aws-cdk-lib's
   * `OverflowPolicyN` among them).
   */
  private otherPolicies(): OtherPolicies {
    const stack = Stack.of(this.role);
    const others: OtherPolicies = { inlineSize: 0, inline: [], managedCount: 0, managed: [] };
    const cfnRole = this.role.node.defaultChild;
    // A role that is not synthesized (iam.Role.customizeRoles with preventSynthesis) has no policies to count.
    if (!(cfnRole instanceof iam.CfnRole)) return others;
    const roleId = stack.resolve(cfnRole.logicalId) as string;
    const byLogicalId = new Map<string, CfnElement>();
    for (const node of stack.node.findAll()) {
      if (node instanceof CfnElement && Stack.of(node) === stack) byLogicalId.set(stack.resolve(node.logicalId), node);
    }
    // The role and the policy resources of its stack, as the template will hold them.
    const resources: Array<[string, PolicyResource]> = [];
    for (const [logicalId, node] of byLogicalId) {
      if (node === cfnRole) {
        const policies = (stack.resolve(cfnRole.policies) as iam.CfnRole.PolicyProperty[] | undefined) ?? [];
        const Properties = {
          Policies: policies.map((p) => ({ PolicyName: p.policyName, PolicyDocument: p.policyDocument })),
          ManagedPolicyArns: stack.resolve(cfnRole.managedPolicyArns),
        };
        resources.push([logicalId, { Type: 'AWS::IAM::Role', Properties }]);
      } else if (node instanceof iam.CfnPolicy || node instanceof iam.CfnManagedPolicy) {
        const Properties = { Roles: node.roles, PolicyDocument: node.policyDocument };
        resources.push([logicalId, { Type: node.cfnResourceType, Properties: stack.resolve(Properties) }]);
      } else if (node instanceof iam.CfnRolePolicy) {
        const Properties = { RoleName: node.roleName, PolicyDocument: node.policyDocument };
        resources.push([logicalId, { Type: node.cfnResourceType, Properties: stack.resolve(Properties) }]);
      }
    }
    const found = findRolePolicies(roleId, resources, refersByRef);
    const own = (logicalId: string | undefined) => logicalId !== undefined && this.own.has(byLogicalId.get(logicalId)!);
    for (const policy of found.policies) {
      if (!policy.inline || own(policy.logicalId)) continue;
      // An empty policy (a DefaultPolicy whose statements all moved elsewhere) is not synthesized.
      const document = policy.document as { Statement?: unknown } | undefined;
      if ([document?.Statement ?? []].flat().length === 0) continue;
      const size = deployedSize(document, referenceBound(byLogicalId));
      if (size === 0) continue;
      others.inline.push(
        policy.source === 'Policies'
          ? `${this.role.node.path} ${String(policy.policyName)}`
          : byLogicalId.get(policy.logicalId)!.node.path,
      );
      others.inlineSize += size;
    }
    const managed = new Set<string>();
    const addManaged = (key: string, name: string) => {
      if (managed.has(key)) return;
      managed.add(key);
      others.managed.push(name);
      others.managedCount++;
    };
    for (const { arn, logicalId } of found.managedPolicyArns) {
      if (own(logicalId)) continue;
      if (logicalId !== undefined) addManaged(logicalId, byLogicalId.get(logicalId)!.node.path);
      else addManaged(JSON.stringify(arn), renderResolved(arn, 'placeholder'));
    }
    for (const policy of found.policies) {
      if (!policy.inline && !own(policy.logicalId)) {
        addManaged(policy.logicalId, byLogicalId.get(policy.logicalId)!.node.path);
      }
    }
    return others;
  }
}

/** The role's policies other than this construct's. */
interface OtherPolicies {
  /** Upper bound of the deployed size of the inline policies, summed. */
  inlineSize: number;
  /** Paths of the inline policies, for messages. */
  readonly inline: string[];
  managedCount: number;
  /** Paths (or ARNs) of the managed policies, for messages. */
  readonly managed: string[];
}

/**
 * Upper bounds of what a `Ref` or `Fn::GetAtt` to an element of the stack deploys as: a parameter's `MaxLength`, a
 * state machine's ARN or name (80 characters); undefined (unknown) otherwise.
 */
function referenceBound(byLogicalId: Map<string, CfnElement>): ReferenceBound {
  return (logicalId, attribute) => {
    const element = byLogicalId.get(logicalId);
    if (element instanceof CfnParameter && attribute === undefined) return element.maxLength;
    if (element instanceof sfn.CfnStateMachine) {
      if (attribute === undefined || attribute === 'Arn') return STATE_MACHINE_ARN_MAX;
      if (attribute === 'Name') return STATE_MACHINE_NAME_MAX;
    }
    return undefined;
  };
}

/** A child with an upper bound of the deployed length of its name. */
function sized(record: ChildRecord): ChildStateMachine {
  const { stateMachine, arn, parts } = record;
  const defaultChild = stateMachine?.node.defaultChild;
  // An alias or version of a state machine of this app (`${child.stateMachineArn}:PROD`) is read from its resource.
  const cfn = parts.resource ?? (defaultChild instanceof sfn.CfnStateMachine ? defaultChild : undefined);
  const inApp = cfn !== undefined;
  let nameLength = STATE_MACHINE_NAME_MAX;
  if (!Token.isUnresolved(parts.name)) {
    nameLength = parts.name.length;
  } else if (inApp) {
    // CloudFormation names an unnamed state machine `<logical id>-<12 random characters>`.
    nameLength = Math.min(STATE_MACHINE_NAME_MAX, Stack.of(cfn!).resolve(cfn!.logicalId).length + 13);
  }
  return { arn, parts, knownUnqualified: inApp, nameLength };
}
