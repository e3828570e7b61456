import { AspectPriority, Aspects, CfnElement, CfnParameter, IAspect, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IConstruct } from 'constructs';
import { checkChildReference } from './child-token';
import {
  ChildNeeds,
  ChildStateMachine,
  MANAGED_RULE_NAME,
  NestedWorkflowGrants,
  needsFor,
  SizedResource,
} from './grants';
import {
  deployedSize,
  INLINE_POLICIES_QUOTA,
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_QUOTA,
  PackedDocument,
  packStatements,
  ReferenceBound,
  UNKNOWN_VALUE_MAX,
} from './packing';
import { displayValue, StateMachineArnParts, stateMachineParts } from './state-machine-arn';

/** The options of a child, as both constructs take them. */
export interface ChildInput {
  readonly integrationPattern?: sfn.IntegrationPattern;
  readonly stateMachineType?: sfn.StateMachineType;
  readonly encryptionKey?: kms.IKey;
  readonly credentials?: sfn.Credentials;
  /** The task's `Credentials.RoleArn`, for a child read from a definition (instead of `credentials`). */
  readonly credentialsRoleArn?: string;
  /** The state of a definition that starts the child, for error messages (the child was passed directly if absent). */
  readonly stateName?: string;
  /**
   * True when the state's task is `states:startExecution.sync` (or `.sync:2`): for an Express child, `RUN_JOB` then
   * means that task rather than `aws-sdk:sfn:startSyncExecution`.
   */
  readonly startExecutionSync?: boolean;
}

/** A checked child and what it needs. */
export interface ChildRecord {
  /** The child's construct, when it was given as one (in the app or imported). */
  readonly stateMachine?: sfn.IStateMachine;
  readonly arn: string;
  readonly parts: StateMachineArnParts;
  readonly needs: ChildNeeds;
}

/** Who the role belongs to: the parent itself, or the role a parent assumes in the child's account. */
export type Grantee = 'parent' | 'target';

function differ(a: string | undefined, b: string): boolean {
  return a !== undefined && !Token.isUnresolved(a) && !Token.isUnresolved(b) && a !== b;
}

/**
 * Validates a child and works out what it needs, without changing any state: errors name the value and the fix.
 */
export function checkChild(
  owner: Construct,
  child: sfn.IStateMachine | string,
  input: ChildInput,
  grantee: Grantee,
): ChildRecord {
  const path = owner.node.path;
  const stateMachine = typeof child === 'string' ? undefined : child;
  const arn = typeof child === 'string' ? child : child.stateMachineArn;
  const state = input.stateName;
  // How messages name the child: the prop, or the state of the definition that starts it.
  // Messages show tokens as <token>, never `${Token[...]}`.
  const shown = displayValue(arn);
  const subject = state === undefined ? `\`child\` ${shown}` : `The child ${shown} of state '${state}'`;
  const what = state === undefined ? `${path}: \`child\`` : `${path}: the StateMachineArn of state '${state}'`;
  checkChildReference(arn, what);
  const parts = stateMachineParts(child, what);
  const stack = Stack.of(owner);
  const region = Token.isUnresolved(parts.region) && stateMachine ? stateMachine.env.region : parts.region;
  const account = Token.isUnresolved(parts.account) && stateMachine ? stateMachine.env.account : parts.account;
  const pattern = input.integrationPattern ?? sfn.IntegrationPattern.REQUEST_RESPONSE;

  if (differ(region, stack.region)) {
    throw new Error(
      `${path}: ${subject} is in region ${region}, but the ${grantee === 'parent' ? "parent's" : "role's"} stack is in region ${stack.region}. ` +
        "Step Functions cannot start a state machine in another region: deploy the child in the parent's region, or the parent in the child's.",
    );
  }

  const declared = input.stateMachineType;
  const actual = stateMachine instanceof sfn.StateMachine ? stateMachine.stateMachineType : undefined;
  if (declared !== undefined && actual !== undefined && declared !== actual) {
    throw new Error(
      `${path}: \`stateMachineType\` is ${declared}, but the child ${stateMachine!.node.path} is ${actual}. ` +
        'Leave `stateMachineType` out for a state machine defined in the app: it is read from the state machine.',
    );
  }
  const express = (actual ?? declared) === sfn.StateMachineType.EXPRESS;
  const expressJob = express && pattern === sfn.IntegrationPattern.RUN_JOB && input.startExecutionSync === true;
  if (expressJob && (input.credentialsRoleArn !== undefined || input.credentials !== undefined)) {
    throw new Error(
      `${path}: ${subject} is an Express state machine started with startExecution.sync through Credentials (in another account), which Step Functions does not support for nested Express workflows. ` +
        `Use arn:<partition>:states:::aws-sdk:sfn:startSyncExecution in state '${state}'.`,
    );
  }

  let credentialsRole: string | undefined;
  if (input.credentialsRoleArn !== undefined) {
    const roleArn = input.credentialsRoleArn;
    if (!Token.isUnresolved(roleArn) && !/^arn:[^:]+:iam::\d{12}:role\/.+$/.test(roleArn)) {
      throw new Error(
        `${path}: the Credentials.RoleArn of state '${state}' must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>), got: ${roleArn}`,
      );
    }
    if (pattern === sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN && differ(account, stack.account)) {
      throw new Error(
        `${path}: ${subject} is in account ${account} and uses .waitForTaskToken, but task tokens cannot cross accounts. ` +
          `Use startExecution.sync or startExecution in state '${state}' for a child in another account, or deploy the child in the parent's account.`,
      );
    }
    credentialsRole = roleArn;
  } else if (input.credentials !== undefined) {
    if (grantee === 'target') {
      throw new Error(
        `${path}: \`credentials\` do not apply to a NestedWorkflowTargetRole, which is itself the role the parent assumes. ` +
          "Pass `credentials` to the parent's NestedWorkflowRole.addChild instead.",
      );
    }
    const taskRole = input.credentials.role;
    if (
      taskRole.resource === '*' ||
      (!Token.isUnresolved(taskRole.roleArn) && !/^arn:[^:]+:iam::\d{12}:role\//.test(taskRole.roleArn))
    ) {
      throw new Error(
        `${path}: \`credentials.role\` must be a role known at synthesis (sfn.TaskRole.fromRole(role)), got a role chosen at run time (${taskRole.roleArn}). ` +
          'sts:AssumeRole cannot be scoped to a role taken from the input: name the role with TaskRole.fromRole.',
      );
    }
    if (pattern === sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN && differ(account, stack.account)) {
      throw new Error(
        `${path}: \`child\` ${shown} is in account ${account} and uses WAIT_FOR_TASK_TOKEN, but task tokens cannot cross accounts. ` +
          "Use RUN_JOB or REQUEST_RESPONSE for a child in another account, or deploy the child in the parent's account.",
      );
    }
    if (input.encryptionKey !== undefined) {
      throw new Error(
        `${path}: \`encryptionKey\` is needed by the role that calls the child, which is the \`credentials\` role here. ` +
          "Pass `encryptionKey` to the NestedWorkflowTargetRole in the child's account instead.",
      );
    }
    credentialsRole = taskRole.roleArn;
  } else if (differ(account, stack.account) && state !== undefined) {
    throw new Error(
      `${path}: ${subject} is in account ${account}, but the parent's stack is in account ${stack.account}. ` +
        'Starting a child in another account needs a role in that account for the parent to assume: create a ' +
        `NestedWorkflowTargetRole in the child's account and set \`"Credentials": { "RoleArn": "<its role ARN>" }\` on state '${state}'.`,
    );
  } else if (differ(account, stack.account)) {
    throw new Error(
      grantee === 'parent'
        ? `${path}: \`child\` ${shown} is in account ${account}, but the parent's stack is in account ${stack.account}. ` +
            'Starting a child in another account needs a role in that account for the parent to assume: create a ' +
            "NestedWorkflowTargetRole in the child's account and pass `credentials: { role: sfn.TaskRole.fromRole(targetRole) }` to addChild."
        : `${path}: \`child\` ${shown} is in account ${account}, but this NestedWorkflowTargetRole's stack is in account ${stack.account}. ` +
            "Create the target role in the child's account.",
    );
  }

  const needs = needsFor({
    integrationPattern: pattern,
    express,
    startExecutionSync: expressJob,
    encryptionKey: input.encryptionKey?.keyArn,
    grantee: credentialsRole !== undefined ? 'parent-via-role' : grantee,
    credentialsRole,
  });
  return { stateMachine, arn, parts, needs };
}

/**
 * When the grants are packed: on the role, after every mutating and default aspect (aws-cdk-lib splits the role's
 * DefaultPolicy at MUTATING or DEFAULT), before read-only ones (cdk-nag) see the role.
 */
const ATTACH_PRIORITY = AspectPriority.READONLY - 100;

/** `maxManagedPolicies`: an integer from 0 to 20. */
export function checkMaxManagedPolicies(owner: Construct, value: number | undefined): number {
  const max = value ?? MANAGED_POLICIES_PER_ROLE;
  if (!Number.isInteger(max) || max < 0 || max > 20) {
    throw new Error(
      `${owner.node.path}: \`maxManagedPolicies\` must be an integer from 0 to 20 (IAM's quota per role), got: ${value}`,
    );
  }
  return max;
}

/**
 * The children of one role and the policies that grant them: packed within IAM's quotas at synthesis (in an aspect,
 * after every `addChild`), created inside the role construct so that whatever depends on the role depends on them.
 */
export class ChildPolicies {
  private readonly children: ChildRecord[] = [];
  /** Set once a definition was read: the validation message then says it starts no child. */
  public fromDefinition = false;
  private packingError?: string;
  private attached = false;
  /** What `attach` packed, and the policies it created (left out of the role's other policies). */
  private documents: PackedDocument[] = [];
  private readonly own = new Set<IConstruct>();

  constructor(
    private readonly owner: Construct,
    private readonly role: iam.Role,
    private readonly maxManagedPolicies: number,
  ) {
    owner.node.addValidation({ validate: () => this.validate() });
    const self = this;
    const attach: IAspect = {
      visit(node: IConstruct) {
        if (node === role) self.attach();
      },
    };
    // On the role, after aws-cdk-lib's own aspect there (priority MUTATING or DEFAULT), which moves what exceeds 10,000
    // characters of the DefaultPolicy into OverflowPolicyN managed policies: the role's other policies are final then.
    Aspects.of(role).add(attach, { priority: ATTACH_PRIORITY });
  }

  public add(record: ChildRecord): void {
    this.children.push(record);
  }

  /** Every child added so far. */
  public records(): ChildRecord[] {
    return [...this.children];
  }

  private validate(): string[] {
    const kind = this.owner.constructor.name;
    if (this.children.length === 0) {
      return [
        `${kind} has no child state machine: pass \`child\` in its props or call \`addChild(child)\` before synthesis` +
          (this.fromDefinition
            ? ' (its definition has no task that starts one: arn:<partition>:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken] or aws-sdk:sfn:startSyncExecution).'
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

  /** Packs every grant into the fewest policies within IAM's quotas and attaches them to the role (once). */
  private attach(): void {
    if (this.children.length === 0 || this.attached) return;
    this.attached = true;
    const others = this.otherPolicies();
    const budgets = this.budgets(others);
    const documents = this.pack(this.children.length, budgets);
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

  private pack(count: number, budgets: number[]): PackedDocument[] | undefined {
    const grants = new NestedWorkflowGrants();
    for (const record of this.children.slice(0, count)) {
      grants.add(sized(record), record.needs);
    }
    return packStatements(grants.statements(this.managedRule()), budgets);
  }

  private managedRule(): SizedResource {
    const stack = Stack.of(this.owner);
    const arn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: MANAGED_RULE_NAME });
    const length =
      'arn::events:::rule/'.length +
      MANAGED_RULE_NAME.length +
      (Token.isUnresolved(stack.partition) ? 'aws-us-gov'.length : stack.partition.length) +
      (Token.isUnresolved(stack.region) ? 'ap-southeast-1'.length : stack.region.length) +
      12;
    return { arn, length };
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
      if (this.pack(middle, budgets)) fit = middle;
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
    const isRole = (value: unknown) => {
      const ref = (value as { Ref?: unknown } | null)?.Ref;
      return ref === roleId;
    };
    const byLogicalId = new Map<string, CfnElement>();
    for (const node of stack.node.findAll()) {
      if (node instanceof CfnElement && Stack.of(node) === stack) byLogicalId.set(stack.resolve(node.logicalId), node);
    }
    const bound = (document: unknown) => {
      const resolved = stack.resolve(document);
      // An empty policy (a DefaultPolicy whose statements all moved elsewhere) is not synthesized.
      const empty = [resolved?.Statement ?? []].flat().length === 0;
      return empty ? 0 : deployedSize(resolved, referenceBound(byLogicalId));
    };
    const addInline = (name: string, document: unknown) => {
      const size = bound(document);
      if (size === 0) return;
      others.inline.push(name);
      others.inlineSize += size;
    };
    const managed = new Set<string>();
    const addManaged = (key: string, name: string) => {
      if (managed.has(key)) return;
      managed.add(key);
      others.managed.push(name);
      others.managedCount++;
    };
    for (const policy of (stack.resolve(cfnRole.policies) as iam.CfnRole.PolicyProperty[] | undefined) ?? []) {
      addInline(`${this.role.node.path} ${policy.policyName}`, policy.policyDocument);
    }
    for (const arn of (stack.resolve(cfnRole.managedPolicyArns) as unknown[] | undefined) ?? []) {
      const ref = (arn as { Ref?: unknown } | null)?.Ref;
      const policy = typeof ref === 'string' ? byLogicalId.get(ref) : undefined;
      if (policy && this.own.has(policy)) continue;
      addManaged(policy ? String(ref) : JSON.stringify(arn), policy ? policy.node.path : readable(arn));
    }
    for (const [logicalId, node] of byLogicalId) {
      if (this.own.has(node)) continue;
      if (node instanceof iam.CfnPolicy && (stack.resolve(node.roles) ?? []).some(isRole)) {
        addInline(node.node.path, node.policyDocument);
      } else if (node instanceof iam.CfnRolePolicy && isRole(stack.resolve(node.roleName))) {
        addInline(node.node.path, node.policyDocument);
      } else if (node instanceof iam.CfnManagedPolicy && (stack.resolve(node.roles) ?? []).some(isRole)) {
        addManaged(logicalId, node.node.path);
      }
    }
    return others;
  }
}

/** A resolved value for messages: `Fn::Join` joined, `Ref`s as `<partition>`, `<region>`, `<account>`, `<LogicalId>`. */
function readable(value: unknown): string {
  if (typeof value === 'string') return value;
  const ref = (value as { Ref?: unknown } | null)?.Ref;
  if (typeof ref === 'string') {
    const pseudo: { [name: string]: string } = {
      'AWS::Partition': 'partition',
      'AWS::Region': 'region',
      'AWS::AccountId': 'account',
    };
    return `<${pseudo[ref] ?? ref}>`;
  }
  const join = (value as { 'Fn::Join'?: unknown } | null)?.['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return join[1].map(readable).join(join[0]);
  }
  return '<token>';
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
  const stateMachineArnMax = 'arn:aws-us-gov:states:ap-southeast-1:123456789012:stateMachine:'.length + 80;
  return (logicalId, attribute) => {
    const element = byLogicalId.get(logicalId);
    if (element instanceof CfnParameter && attribute === undefined) return element.maxLength;
    if (element instanceof sfn.CfnStateMachine) {
      if (attribute === undefined || attribute === 'Arn') return stateMachineArnMax;
      if (attribute === 'Name') return 80;
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
  let nameLength = 80;
  if (!Token.isUnresolved(parts.name)) {
    nameLength = parts.name.length;
  } else if (inApp) {
    // CloudFormation names an unnamed state machine `<logical id>-<12 random characters>`.
    nameLength = Math.min(80, Stack.of(cfn!).resolve(cfn!.logicalId).length + 13);
  }
  return { arn, parts, knownUnqualified: inApp, nameLength };
}
