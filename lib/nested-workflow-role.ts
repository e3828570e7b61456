import { ArnFormat, Aspects, IAspect, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IConstruct } from 'constructs';
import {
  ChildNeeds,
  ChildStateMachine,
  MANAGED_RULE_NAME,
  NestedWorkflowGrants,
  needsFor,
  SizedResource,
} from './private/grants';
import {
  INLINE_POLICIES_QUOTA,
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_QUOTA,
  PackedDocument,
  packStatements,
} from './private/packing';
import { StateMachineArnParts, stateMachineParts } from './private/state-machine-arn';

/**
 * How the parent starts one child state machine.
 */
export interface NestedWorkflowChildOptions {
  /**
   * The integration pattern of the parent's task that starts the child.
   *
   * - `REQUEST_RESPONSE` (`arn:<partition>:states:::states:startExecution`): `states:StartExecution` on the child.
   * - `RUN_JOB` (`...:startExecution.sync` and `.sync:2`): also `states:DescribeExecution` and
   *   `states:StopExecution` on the child's executions, and `events:PutTargets`, `events:PutRule`,
   *   `events:DescribeRule` on the rule `StepFunctionsGetEventsForStepFunctionsExecutionRule`.
   * - `WAIT_FOR_TASK_TOKEN` (`...:startExecution.waitForTaskToken`): `states:StartExecution` on the child.
   *
   * @default sfn.IntegrationPattern.REQUEST_RESPONSE - only `states:StartExecution` is granted
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html
   */
  readonly integrationPattern?: sfn.IntegrationPattern;
}

/**
 * Properties of a `NestedWorkflowRole`.
 */
export interface NestedWorkflowRoleProps extends NestedWorkflowChildOptions {
  /**
   * A child state machine the parent starts, with the props' `integrationPattern`.
   *
   * The state machine may be defined in this app, imported by ARN or by name, or addressed by an alias or version
   * ARN (`stateMachine:NAME:PROD`, `stateMachine:NAME:3`). More children can be added with `addChild`.
   *
   * @default - no child yet: add at least one with `addChild` before synthesis
   */
  readonly child?: sfn.IStateMachine;

  /**
   * A name for the role.
   *
   * @default - CloudFormation generates a unique name
   */
  readonly roleName?: string;

  /**
   * The path of the role.
   *
   * @default /
   */
  readonly path?: string;

  /**
   * A description of the role.
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * A managed policy that sets the maximum permissions of the role.
   *
   * @default - no permissions boundary
   */
  readonly permissionsBoundary?: iam.IManagedPolicy;

  /**
   * The name of the parent state machine that assumes this role.
   *
   * When given, the trust policy lets only that state machine assume the role (`aws:SourceArn` equal to its ARN);
   * otherwise any state machine of this account and region may (`stateMachine:*`).
   *
   * @default - any state machine of the stack's account and region may assume the role
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html#prevent-cross-service-confused-deputy
   */
  readonly parentStateMachineName?: string;

  /**
   * How many managed policies this construct may attach to the role when the grants do not fit in the inline
   * policy quota (10,240 characters per role).
   *
   * IAM allows 10 managed policies per role by default and up to 20 on request; lower this if you attach managed
   * policies of your own to the role.
   *
   * @default 10
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
   */
  readonly maxManagedPolicies?: number;
}

interface ChildRecord {
  readonly child: sfn.IStateMachine;
  readonly arn: string;
  readonly parts: StateMachineArnParts;
  readonly needs: ChildNeeds;
}

/**
 * An IAM role for a parent Step Functions state machine that starts child state machines (nested workflows),
 * granting exactly what Step Functions calls on the parent's behalf for each child and integration pattern.
 *
 * Pass `role` to the parent `sfn.StateMachine`: the state machine then depends on every policy of this role, so the
 * events grants that `.sync` children need exist when Step Functions creates the managed rule.
 *
 * @example
 * const parentRole = new NestedWorkflowRole(this, 'ParentRole', {
 *   child: childStateMachine,
 *   integrationPattern: sfn.IntegrationPattern.RUN_JOB,
 * });
 * new sfn.StateMachine(this, 'Parent', { role: parentRole.role, definitionBody });
 */
export class NestedWorkflowRole extends Construct implements iam.IGrantable {
  /** The role: pass it as the parent state machine's `role`. */
  public readonly role: iam.IRole;

  /** The principal to grant further permissions to (the role). */
  public readonly grantPrincipal: iam.IPrincipal;

  private readonly children: ChildRecord[] = [];
  private readonly maxManagedPolicies: number;
  private readonly concreteRole: iam.Role;
  private packingError?: string;
  private attached = false;

  constructor(scope: Construct, id: string, props: NestedWorkflowRoleProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    // Validate everything before creating anything.
    this.maxManagedPolicies = props.maxManagedPolicies ?? MANAGED_POLICIES_PER_ROLE;
    if (!Number.isInteger(this.maxManagedPolicies) || this.maxManagedPolicies < 0 || this.maxManagedPolicies > 20) {
      throw new Error(
        `${this.node.path}: \`maxManagedPolicies\` must be an integer from 0 to 20 (IAM's quota per role), got: ${props.maxManagedPolicies}`,
      );
    }
    const name = props.parentStateMachineName;
    if (name !== undefined && !Token.isUnresolved(name) && !/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
      throw new Error(
        `${this.node.path}: \`parentStateMachineName\` must be a state machine name (1-80 letters, digits, "-" or "_"), got: ${name}. ` +
          'Pass the name, not the ARN, of the parent state machine.',
      );
    }
    if (props.child === undefined && props.integrationPattern !== undefined) {
      throw new Error(
        `${this.node.path}: \`integrationPattern\` applies to \`child\`, but no \`child\` was given. ` +
          'Pass `child` too, or give the pattern to `addChild(child, { integrationPattern })`.',
      );
    }
    const first = props.child ? this.checkChild(props.child, props) : undefined;

    const sourceArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: name ?? '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.concreteRole = new iam.Role(this, 'Resource', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': sourceArn },
        },
      }),
      roleName: props.roleName,
      path: props.path,
      description: props.description,
      permissionsBoundary: props.permissionsBoundary,
    });
    this.role = this.concreteRole;
    this.grantPrincipal = this.concreteRole;

    if (first) this.children.push(first);

    this.node.addValidation({ validate: () => this.validate() });
    const self = this;
    const attachPolicies: IAspect = {
      visit(node: IConstruct) {
        if (node === self) self.attachPolicies();
      },
    };
    Aspects.of(this).add(attachPolicies);
  }

  /**
   * Grants the parent what it needs to start `child` with the given integration pattern.
   *
   * Adding the same child again grants the union of its patterns.
   *
   * @param child the child state machine (in this app, imported by ARN or name, or an alias or version ARN)
   * @param options how the parent starts it
   */
  public addChild(child: sfn.IStateMachine, options: NestedWorkflowChildOptions = {}): void {
    this.children.push(this.checkChild(child, options));
  }

  /** Validates a child and works out what it needs, without changing any state. */
  private checkChild(child: sfn.IStateMachine, options: NestedWorkflowChildOptions): ChildRecord {
    const arn = child.stateMachineArn;
    const parts = stateMachineParts(child, `${this.node.path}: \`child\``);
    const stack = Stack.of(this);
    const region = Token.isUnresolved(parts.region) ? child.env.region : parts.region;
    const account = Token.isUnresolved(parts.account) ? child.env.account : parts.account;
    if (differ(region, stack.region)) {
      throw new Error(
        `${this.node.path}: \`child\` ${arn} is in region ${region}, but the parent's stack is in region ${stack.region}. ` +
          "Step Functions cannot start a state machine in another region: deploy the child in the parent's region, or the parent in the child's.",
      );
    }
    if (differ(account, stack.account)) {
      throw new Error(
        `${this.node.path}: \`child\` ${arn} is in account ${account}, but the parent's stack is in account ${stack.account}. ` +
          'Starting a child in another account needs a role in that account for the parent to assume (task `Credentials`), ' +
          "which this version does not support yet: deploy the child in the parent's account.",
      );
    }
    const pattern = options.integrationPattern ?? sfn.IntegrationPattern.REQUEST_RESPONSE;
    return { child, arn, parts, needs: needsFor(pattern) };
  }

  private validate(): string[] {
    if (this.children.length === 0) {
      return [
        'NestedWorkflowRole has no child state machine: pass `child` in its props or call `addChild(child)` before synthesis.',
      ];
    }
    return this.packingError ? [this.packingError] : [];
  }

  /** Packs every grant into the fewest policies within IAM's quotas and attaches them to the role (once). */
  private attachPolicies(): void {
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
        `NestedWorkflowRole grants for ${this.children.length} children do not fit IAM's quotas ` +
        `(${INLINE_POLICIES_QUOTA} characters of inline policy per role, ${this.maxManagedPolicies} managed policies of ${MANAGED_POLICY_QUOTA}): ` +
        `the first ${fit} children fit. Split the children across several parent state machines (each with its own NestedWorkflowRole)` +
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
          (s) =>
            new iam.PolicyStatement({
              actions: s.actions,
              resources: s.resources,
              conditions: s.conditions,
            }),
        ),
      });
      if (document.slot === 0) {
        new iam.CfnPolicy(this.concreteRole, 'NestedWorkflowPolicy', {
          policyName: 'NestedWorkflowPolicy',
          roles: [this.concreteRole.roleName],
          policyDocument,
        });
      } else {
        managed++;
        new iam.CfnManagedPolicy(this.concreteRole, `NestedWorkflowManagedPolicy${managed}`, {
          description: `Nested workflow grants of ${this.node.path}, part ${managed}`,
          roles: [this.concreteRole.roleName],
          policyDocument,
        });
      }
    }
  }

  private pack(count: number, budgets: number[]): PackedDocument[] | undefined {
    const grants = new NestedWorkflowGrants();
    for (const record of this.children.slice(0, count)) {
      grants.add(this.sized(record), record.needs);
    }
    return packStatements(grants.statements(this.managedRule()), budgets);
  }

  private sized(record: ChildRecord): ChildStateMachine {
    const { child, arn, parts } = record;
    const cfn = child.node.defaultChild;
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

  private managedRule(): SizedResource {
    const stack = Stack.of(this);
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
    const defaultPolicy = this.concreteRole.node.tryFindChild('DefaultPolicy');
    if (!(defaultPolicy instanceof iam.Policy) || defaultPolicy.document.isEmpty) return 0;
    // aws-cdk-lib moves what exceeds 10,000 characters of the default policy into managed policies.
    return Math.min(10_000, JSON.stringify(Stack.of(this).resolve(defaultPolicy.document)).length);
  }
}

function differ(a: string | undefined, b: string): boolean {
  return a !== undefined && !Token.isUnresolved(a) && !Token.isUnresolved(b) && a !== b;
}
