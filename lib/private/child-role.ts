import { Aspects, IAspect, Stack, Token } from 'aws-cdk-lib';
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
  INLINE_POLICIES_QUOTA,
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_QUOTA,
  PackedDocument,
  packStatements,
} from './packing';
import { StateMachineArnParts, stateMachineParts } from './state-machine-arn';

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
  const subject = state === undefined ? `\`child\` ${arn}` : `The child ${arn} of state '${state}'`;
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
        `${path}: \`child\` ${arn} is in account ${account} and uses WAIT_FOR_TASK_TOKEN, but task tokens cannot cross accounts. ` +
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
        ? `${path}: \`child\` ${arn} is in account ${account}, but the parent's stack is in account ${stack.account}. ` +
            'Starting a child in another account needs a role in that account for the parent to assume: create a ' +
            "NestedWorkflowTargetRole in the child's account and pass `credentials: { role: sfn.TaskRole.fromRole(targetRole) }` to addChild."
        : `${path}: \`child\` ${arn} is in account ${account}, but this NestedWorkflowTargetRole's stack is in account ${stack.account}. ` +
            "Create the target role in the child's account.",
    );
  }

  const needs = needsFor({
    integrationPattern: pattern,
    express,
    encryptionKey: input.encryptionKey?.keyArn,
    grantee: credentialsRole !== undefined ? 'parent-via-role' : grantee,
    credentialsRole,
  });
  return { stateMachine, arn, parts, needs };
}

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

  constructor(
    private readonly owner: Construct,
    private readonly role: iam.Role,
    private readonly maxManagedPolicies: number,
  ) {
    owner.node.addValidation({ validate: () => this.validate() });
    const self = this;
    const attach: IAspect = {
      visit(node: IConstruct) {
        if (node === owner) self.attach();
      },
    };
    Aspects.of(owner).add(attach);
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
    return this.packingError ? [this.packingError] : [];
  }

  /** Packs every grant into the fewest policies within IAM's quotas and attaches them to the role (once). */
  private attach(): void {
    if (this.children.length === 0 || this.attached) return;
    this.attached = true;
    const budgets = [
      INLINE_POLICIES_QUOTA - this.otherInlinePolicySize(),
      ...Array<number>(this.maxManagedPolicies).fill(MANAGED_POLICY_QUOTA),
    ];
    const documents = this.pack(this.children.length, budgets);
    if (!documents) {
      let fit = 0;
      let misfit = this.children.length;
      while (misfit - fit > 1) {
        const middle = Math.floor((fit + misfit) / 2);
        if (this.pack(middle, budgets)) fit = middle;
        else misfit = middle;
      }
      this.packingError =
        `${this.owner.constructor.name} grants for ${this.children.length} children do not fit IAM's quotas ` +
        `(${INLINE_POLICIES_QUOTA} characters of inline policy per role, ${this.maxManagedPolicies} managed policies of ${MANAGED_POLICY_QUOTA}): ` +
        `the first ${fit} children fit. Split the children across several parent state machines (each with its own role)` +
        (this.maxManagedPolicies < 20
          ? ', or raise the managed policies quota to 20 and set `maxManagedPolicies: 20`.'
          : '.');
      return;
    }
    let managed = 0;
    for (const document of documents) {
      const policyDocument = new iam.PolicyDocument({
        minimize: false,
        statements: document.statements.map(
          (s) => new iam.PolicyStatement({ actions: s.actions, resources: s.resources, conditions: s.conditions }),
        ),
      });
      if (document.slot === 0) {
        new iam.CfnPolicy(this.role, 'NestedWorkflowPolicy', {
          policyName: 'NestedWorkflowPolicy',
          roles: [this.role.roleName],
          policyDocument,
        });
      } else {
        managed++;
        new iam.CfnManagedPolicy(this.role, `NestedWorkflowManagedPolicy${managed}`, {
          description: `Nested workflow grants of ${this.owner.node.path}, part ${managed}`,
          roles: [this.role.roleName],
          policyDocument,
        });
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

  /** Size of the role's other inline policies (its default policy), which share the inline quota. */
  private otherInlinePolicySize(): number {
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (!(defaultPolicy instanceof iam.Policy) || defaultPolicy.document.isEmpty) return 0;
    // aws-cdk-lib moves what exceeds 10,000 characters of the default policy into managed policies.
    return Math.min(10_000, JSON.stringify(Stack.of(this.owner).resolve(defaultPolicy.document)).length);
  }
}

/** A child with an upper bound of the deployed length of its name. */
function sized(record: ChildRecord): ChildStateMachine {
  const { stateMachine, arn, parts } = record;
  const cfn = stateMachine?.node.defaultChild;
  const inApp = cfn instanceof sfn.CfnStateMachine;
  let nameLength = 80;
  if (!Token.isUnresolved(parts.name)) {
    nameLength = parts.name.length;
  } else if (inApp) {
    // CloudFormation names an unnamed state machine `<logical id>-<12 random characters>`.
    nameLength = Math.min(80, Stack.of(cfn).resolve(cfn.logicalId).length + 13);
  }
  return { arn, parts, knownUnqualified: inApp, nameLength };
}
