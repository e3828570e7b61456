import { Annotations, ArnFormat, Aspects, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IConstruct } from 'constructs';
import { checkChild, checkMaxManagedPolicies, ChildPolicies, ChildRecord } from './private/child-role';
import {
  DefinitionTasks,
  DistributedMapState,
  NestedTask,
  readDefinition,
  stateMachineOfArn,
} from './private/definition';
import { describeValue } from './private/describe';
import {
  attachMapRunPolicy,
  checkDistributedMaps,
  expressParentError,
  expressUsers,
  mapRunParent,
  mapRunStatements,
} from './private/map-run';
import { ParentRole } from './private/parent-role';
import { displayValue, NAME_RULE, nameProblem } from './private/state-machine-arn';
import { GivenDefinition, RoleUsage } from './private/usage';

/**
 * How a child state machine is started, for the role that starts it.
 */
export interface NestedWorkflowChildBaseOptions {
  /**
   * The integration pattern of the parent's task that starts the child.
   *
   * - `REQUEST_RESPONSE` (`arn:<partition>:states:::states:startExecution`): `states:StartExecution` on the child.
   * - `RUN_JOB` (`...:startExecution.sync` and `.sync:2`): also `states:DescribeExecution` and
   *   `states:StopExecution` on the child's executions, and `events:PutTargets`, `events:PutRule`,
   *   `events:DescribeRule` on the rule `StepFunctionsGetEventsForStepFunctionsExecutionRule`. For an Express child,
   *   `RUN_JOB` means the `arn:<partition>:states:::aws-sdk:sfn:startSyncExecution` task: only
   *   `states:StartSyncExecution` on the child.
   * - `WAIT_FOR_TASK_TOKEN` (`...:startExecution.waitForTaskToken`): `states:StartExecution` on the child.
   *
   * @default sfn.IntegrationPattern.REQUEST_RESPONSE - only `states:StartExecution` is granted
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html
   */
  readonly integrationPattern?: sfn.IntegrationPattern;

  /**
   * The type of the child, for a child imported by ARN or name (a state machine defined in the app is read).
   *
   * @default - the type of a state machine defined in the app; STANDARD for an imported one
   */
  readonly stateMachineType?: sfn.StateMachineType;

  /**
   * The customer managed KMS key the child is encrypted with.
   *
   * AWS documents that callers of `DescribeExecution` and `StartSyncExecution` on such a state machine need
   * `kms:Decrypt` on its key: for `RUN_JOB` (and Express `startSyncExecution`) the role gets `kms:Decrypt` on this key
   * only, with the condition `kms:EncryptionContext:aws:states:stateMachineArn` = the child's ARN.
   *
   * @default - the child uses an AWS owned key: no KMS grant
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * How the parent starts one child state machine.
 */
export interface NestedWorkflowChildOptions extends NestedWorkflowChildBaseOptions {
  /**
   * The role the parent assumes to start the child (the task's `Credentials`), for a child in another account.
   *
   * The parent's role then gets only `sts:AssumeRole` on that role; the child's grants belong to that role (see
   * `NestedWorkflowTargetRole`). A role chosen at run time (`TaskRole.fromRoleArnJsonPath`) is refused: it cannot be
   * scoped.
   *
   * @default - the parent's own role starts the child, which must then be in the parent's account
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html
   */
  readonly credentials?: sfn.Credentials;
}

/**
 * The children that a state of the parent's definition may start, for a state that takes its child's ARN from its
 * input at run time (`"StateMachineArn.$": "$.childArn"`, or a JSONata expression).
 */
export interface NestedWorkflowRuntimeChildren {
  /** The name of the state in the definition. */
  readonly stateName: string;

  /**
   * Every state machine the state may start. Each is granted what the state's task needs (its integration pattern
   * and `Credentials` are read from the definition).
   */
  readonly children: sfn.IStateMachine[];
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
   * @default - no child yet: add children with `addChild`, or give a definition; with neither, the role grants what
   *   the definition of the state machine that uses it starts
   */
  readonly child?: sfn.IStateMachine;

  /**
   * The parent's definition: the role grants what every task of it that starts a child state machine needs.
   *
   * Tasks are found at any depth (Parallel branches, Map iterators and item processors, distributed Maps):
   * `arn:<partition>:states:::states:startExecution` (request-response), `.sync` and `.sync:2` (run a job),
   * `.waitForTaskToken` (callback), and `arn:<partition>:states:::aws-sdk:sfn:startSyncExecution` (an Express child run
   * synchronously). The child is read from `Parameters.StateMachineArn` (JSONPath) or `Arguments.StateMachineArn`
   * (JSONata), and a child in another account from the task's `Credentials.RoleArn`. Other tasks get no grant from
   * this role: a warning lists them, with the `ItemReader`/`ResultWriter` of Distributed Maps.
   *
   * `startExecution.sync` on an Express child of the app (in the parent's account) gets what a Standard `.sync` child
   * gets plus `states:DescribeExecution` on `express:<name>:*`, its Express executions (what Step Functions calls is
   * not documented; `aws-sdk:sfn:startSyncExecution`, which needs only `states:StartSyncExecution`, is the
   * recommended path). It is refused through `Credentials`: AWS documents it unsupported across accounts.
   *
   * A Distributed Map (`ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED`) starts child workflow executions of the
   * parent itself: the parent (`parentStateMachineName`, or the state machine of the app that uses the role) gets
   * `states:StartExecution` on itself, `states:DescribeExecution`/`states:StopExecution` on `execution:<parent>:*`
   * and `states:RedriveExecution` on `execution:<parent>/<label>:*` for each map `Label` (every label of the parent
   * when a map has none), in the policy `NestedWorkflowMapRunPolicy`, which the parent does not depend on.
   *
   * Pass the same `definitionBody` to the parent `sfn.StateMachine`. For `fromChainable`, the statements that
   * aws-cdk-lib's `StepFunctionsStartExecution` tasks would add to the role are left out: this role grants their
   * children exactly; the grants of the chain's other tasks still reach the role.
   *
   * @default - no definition: add children with `child` and `addChild`, or a definition with `addDefinition`; with
   *   none of these, the role reads the definition of the state machine that uses it (at synthesis) and grants what it
   *   starts
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html
   */
  readonly definitionBody?: sfn.DefinitionBody;

  /**
   * The substitutions of `definitionBody`'s `${Name}` placeholders: the same as the parent state machine's.
   *
   * Values may be tokens, such as `child.stateMachineArn`.
   *
   * @default - no substitutions
   */
  readonly definitionSubstitutions?: { [key: string]: string };

  /**
   * The children that states of the definition which take their child's ARN from the input at run time may start.
   *
   * No policy can be scoped to an ARN chosen at run time, so such a state is refused unless it is listed here.
   *
   * @default - every state that starts a child names it in the definition
   */
  readonly runtimeChildren?: NestedWorkflowRuntimeChildren[];

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
   * When given, the trust policy lets only that state machine, its versions and its aliases assume the role
   * (`ArnLike` `aws:SourceArn` on `stateMachine:<name>` and `stateMachine:<name>:*`: AWS does not document which of
   * these ARNs Step Functions sends when the parent runs through a version or an alias, so both are admitted); no other
   * state machine may, not even one whose name starts with `<name>`. Otherwise any state machine of this account and
   * region may (`stateMachine:*`).
   *
   * A definition with Distributed Maps is granted its Map Runs on this state machine (in the role's stack); without
   * it, on the one state machine of the app that uses the role.
   *
   * The name must be one Step Functions and IAM accept: 1-80 characters from U+0021-U+007E and U+00A1-U+00FF, none of
   * `< > { } [ ] ? * " # % \ ^ | ~ $ & , ; : /` or the backtick.
   *
   * @default - any state machine of the stack's account and region may assume the role
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html#prevent-cross-service-confused-deputy
   */
  readonly parentStateMachineName?: string;

  /**
   * The type of the parent state machine.
   *
   * Express workflows support only request-response integrations: for an Express parent, a task of the definition
   * that waits for a job or a callback (`.sync`, `.sync:2`, `.waitForTaskToken`) is refused, except inside a
   * Distributed Map whose child workflow executions are STANDARD. The type of an `sfn.StateMachine` of the app that
   * uses the role is read at synthesis, and checked the same way.
   *
   * @default - the type of the state machine of the app that uses the role; STANDARD if none does
   * @see https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html
   */
  readonly parentStateMachineType?: sfn.StateMachineType;

  /**
   * The role's managed policies quota, for grants that do not fit in the inline policy quota (10,240 characters per
   * role, shared with the role's other inline policies).
   *
   * IAM allows 10 managed policies per role by default and up to 20 on request. Managed policies attached to the
   * role otherwise (`role.addManagedPolicy`, aws-cdk-lib's `OverflowPolicyN`) count toward it: this construct attaches
   * at most the rest.
   *
   * @default 10
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
   */
  readonly maxManagedPolicies?: number;
}

/**
 * An IAM role for a parent Step Functions state machine that starts child state machines (nested workflows),
 * granting exactly what Step Functions calls on the parent's behalf for each child and integration pattern.
 *
 * Pass `role` to the parent `sfn.StateMachine`: the state machine then depends on every policy of this role, so the
 * events grants that `.sync` children need exist when Step Functions creates the managed rule.
 *
 * At synthesis the role checks the state machines of the app that use it: none is a warning
 * (`cdk-nested-workflow-role:roleNotUsed`); one that deploys another definition than the role was given, or starts a
 * child the role does not grant as the task needs, is an error naming the state, the child and the fix.
 *
 * @example
 * declare const child: sfn.IStateMachine;
 *
 * const definitionBody = sfn.DefinitionBody.fromFile('parent.asl.json');
 * const definitionSubstitutions = { ChildArn: child.stateMachineArn };
 * const parentRole = new NestedWorkflowRole(this, 'ParentRole', { definitionBody, definitionSubstitutions });
 * new sfn.StateMachine(this, 'Parent', { role: parentRole.role, definitionBody, definitionSubstitutions });
 */
export class NestedWorkflowRole extends Construct implements iam.IGrantable {
  /** The role: pass it as the parent state machine's `role`. */
  public readonly role: iam.IRole;

  /** The principal to grant further permissions to (the role). */
  public readonly grantPrincipal: iam.IPrincipal;

  private readonly policies: ChildPolicies;
  private readonly parentRole: ParentRole;
  private readonly runtimeChildren: Map<string, NestedWorkflowRuntimeChildren>;
  private readonly usedRuntimeChildren = new Set<string>();
  /** Every state of the role's definitions that takes its child's ARN at run time. */
  private readonly runtimeStates = new Set<string>();
  private readonly otherTasks: string[] = [];
  private readonly distributedMaps: DistributedMapState[] = [];
  private readonly waitingTasks: DefinitionTasks['waitingTasks'] = [];
  private readonly parentStateMachineName?: string;
  private readonly parentStateMachineType?: sfn.StateMachineType;
  private mapRunError?: string;
  private readonly givenDefinitions: GivenDefinition[] = [];

  constructor(scope: Construct, id: string, props: NestedWorkflowRoleProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    // Validate everything before creating anything.
    const maxManagedPolicies = checkMaxManagedPolicies(this, props.maxManagedPolicies);
    const name = props.parentStateMachineName;
    const nameError = name !== undefined && !Token.isUnresolved(name) ? nameProblem(name) : undefined;
    if (nameError) {
      throw new Error(
        `${this.node.path}: \`parentStateMachineName\` must be a state machine name (${NAME_RULE}), got: ${displayValue(name!)}, which ${nameError}. ` +
          'Pass the name, not the ARN, of the parent state machine.',
      );
    }
    if (props.child === undefined && props.integrationPattern !== undefined) {
      throw new Error(
        `${this.node.path}: \`integrationPattern\` applies to \`child\`, but no \`child\` was given. ` +
          'Pass `child` too, or give the pattern to `addChild(child, { integrationPattern })`.',
      );
    }
    this.parentStateMachineName = name;
    this.parentStateMachineType = props.parentStateMachineType;
    const first = props.child ? checkChild(this, props.child, props, 'parent') : undefined;
    this.runtimeChildren = new Map();
    for (const entry of props.runtimeChildren ?? []) {
      if (entry.children.length === 0 || this.runtimeChildren.has(entry.stateName)) {
        throw new Error(
          `${this.node.path}: \`runtimeChildren\` must name each state once with at least one child, got: '${entry.stateName}' ` +
            (entry.children.length === 0 ? 'with no children.' : 'twice.'),
        );
      }
      this.runtimeChildren.set(entry.stateName, entry);
    }
    if (props.definitionBody === undefined && props.definitionSubstitutions !== undefined) {
      throw new Error(
        `${this.node.path}: \`definitionSubstitutions\` apply to \`definitionBody\`, but no \`definitionBody\` was given. ` +
          'Pass `definitionBody` too, or use `addDefinition(definitionBody, definitionSubstitutions)`.',
      );
    }
    const definition = props.definitionBody
      ? this.checkDefinition(props.definitionBody, props.definitionSubstitutions)
      : undefined;

    const sourceArn = (resourceName: string) =>
      stack.formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const role = new ParentRole(this, 'Resource', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          // The named parent, and its versions and aliases (AWS does not document which ARN Step Functions sends when a
          // version or alias runs; `<name>:*` admits those of this parent only, never `<name>Admin`).
          ArnLike: { 'aws:SourceArn': name === undefined ? sourceArn('*') : [sourceArn(name), sourceArn(`${name}:*`)] },
        },
      }),
      roleName: props.roleName,
      path: props.path,
      description: props.description,
      permissionsBoundary: props.permissionsBoundary,
    });
    this.role = role;
    this.parentRole = role;
    this.grantPrincipal = role;
    // Before ChildPolicies packs its grants (and after RoleUsage derives a definition): the Map Run policy then exists
    // and is counted.
    const self = this;
    Aspects.of(this).add({
      visit(node: IConstruct) {
        if (node === self) self.grantMapRuns();
      },
    });
    new RoleUsage({
      owner: this,
      role,
      definitions: () => [...this.givenDefinitions],
      records: () => this.policies.records(),
      taskRecords: (task) => this.taskRecords(task),
      readTasks: (body, substitutions, where) => readDefinition(where, body, substitutions).nested,
      derive: (body, substitutions, where, rendered) => {
        const derived = this.checkDefinition(body, substitutions, where);
        // The other tasks of a chain are aws-cdk-lib constructs that grant themselves.
        this.applyDefinition(rendered ? { ...derived, tasks: { ...derived.tasks, others: [] } } : derived);
      },
    });
    this.policies = new ChildPolicies(this, role, maxManagedPolicies);
    if (first) this.policies.add(first);
    if (definition) {
      this.applyDefinition(definition);
      this.givenDefinitions.push({ body: props.definitionBody!, substitutions: props.definitionSubstitutions });
    }

    this.node.addValidation({ validate: () => this.validateRuntimeChildren() });
    this.node.addValidation({ validate: () => this.validateExecutionTypes() });
    Aspects.of(this).add({
      visit(node: IConstruct) {
        if (node === self) self.warn();
      },
    });
  }

  /**
   * Grants the parent what every task of `definitionBody` that starts a child state machine needs, like the
   * `definitionBody` prop (see there). Call it before creating the parent state machine.
   *
   * @param definitionBody the parent's definition (`sfn.DefinitionBody.fromFile`, `fromString` or `fromChainable`)
   * @param definitionSubstitutions the substitutions of its `${Name}` placeholders, as given to the state machine
   */
  public addDefinition(definitionBody: sfn.DefinitionBody, definitionSubstitutions?: { [key: string]: string }): void {
    const definition = this.checkDefinition(definitionBody, definitionSubstitutions);
    if (this.parentRole.alreadyAdded(definition.tasks.replacedStatements)) {
      throw new Error(
        `${this.node.path}: addDefinition was called after the parent state machine was created with this role, so the ` +
          'grants of its StepFunctionsStartExecution tasks are already on the role. Call addDefinition (or pass `definitionBody`) before creating the state machine.',
      );
    }
    this.applyDefinition(definition);
    this.givenDefinitions.push({ body: definitionBody, substitutions: definitionSubstitutions });
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
    this.policies.add(checkChild(this, child, options, 'parent'));
  }

  /** The children a task of a definition starts: its own, or the `runtimeChildren` of its state (if named). */
  private taskRecords(task: NestedTask): ChildRecord[] | undefined {
    if (task.stateMachineArn !== undefined) {
      return [this.checkTaskChild(task, stateMachineOfArn(task.stateMachineArn) ?? task.stateMachineArn)];
    }
    return this.runtimeChildren.get(task.stateName)?.children.map((child) => this.checkTaskChild(task, child));
  }

  /** Reads a definition and checks every child it starts, without changing any state. */
  private checkDefinition(
    body: sfn.DefinitionBody,
    substitutions?: { [key: string]: string },
    where: string = this.node.path,
  ): CheckedDefinition {
    const tasks = readDefinition(where, body, substitutions);
    checkDistributedMaps(where, tasks.distributedMaps, tasks.waitingTasks);
    if (this.parentStateMachineType === sfn.StateMachineType.EXPRESS) {
      const error = expressParentError('`parentStateMachineType` is EXPRESS', tasks.waitingTasks);
      if (error) throw new Error(`${where}: ${error}`);
    }
    const children: ChildRecord[] = [];
    const runtimeStates: string[] = [];
    const runtimeTasks = tasks.nested.filter((task) => task.stateMachineArn === undefined).map((t) => t.stateName);
    for (const task of tasks.nested) {
      if (task.stateMachineArn !== undefined) {
        children.push(this.checkTaskChild(task, stateMachineOfArn(task.stateMachineArn) ?? task.stateMachineArn));
        continue;
      }
      const declared = this.runtimeChildren.get(task.stateName);
      if (!declared) {
        const source = task.runtimeArn?.startsWith('"StateMachineArn.$"')
          ? 'from its input at run time'
          : 'from a JSONata expression evaluated at run time';
        const unmatched = [...this.runtimeChildren.keys()].filter((state) => !runtimeTasks.includes(state));
        throw new Error(
          `${where}: state '${task.stateName}' takes the ARN of the child it starts ${source} (${task.runtimeArn}), ` +
            'which no policy can scope without granting every state machine. ' +
            (unmatched.length > 0
              ? `\`runtimeChildren\` has no entry for '${task.stateName}': it names ${quoteAll(unmatched)}, and the states of this ` +
                `definition that take their child at run time are ${quoteAll(runtimeTasks)}. Check the state names in \`runtimeChildren\`.`
              : 'Name the child in the definition, or declare the children the state may start: ' +
                `\`runtimeChildren: [{ stateName: '${task.stateName}', children: [childA, childB] }]\`.`),
        );
      }
      runtimeStates.push(task.stateName);
      for (const child of declared.children) children.push(this.checkTaskChild(task, child));
    }
    return { tasks, children, runtimeStates };
  }

  private checkTaskChild(task: NestedTask, child: sfn.IStateMachine | string): ChildRecord {
    const inApp = typeof child !== 'string' && child instanceof sfn.StateMachine ? child : undefined;
    const integration = `state '${task.stateName}' (${task.resource})`;
    if (inApp && task.express && inApp.stateMachineType !== sfn.StateMachineType.EXPRESS) {
      throw new Error(
        `${this.node.path}: ${integration} starts ${inApp.node.path}, a ${inApp.stateMachineType} state machine, but only Express ` +
          'state machines can be started with startSyncExecution. Use arn:<partition>:states:::states:startExecution.sync for a Standard child.',
      );
    }
    return checkChild(
      this,
      child,
      {
        integrationPattern: task.integrationPattern,
        stateMachineType: task.express && !inApp ? sfn.StateMachineType.EXPRESS : undefined,
        credentialsRoleArn: task.credentialsRoleArn,
        stateName: task.stateName,
        startExecutionSync: !task.express && task.integrationPattern === sfn.IntegrationPattern.RUN_JOB,
      },
      'parent',
    );
  }

  private applyDefinition(definition: CheckedDefinition): void {
    const { tasks, children, runtimeStates } = definition;
    if (tasks.distributedMaps.length > 0 && !this.parentRole.replaceDistributedMapPolicy()) {
      throw new Error(
        `${this.node.path}: addDefinition was called after the parent state machine was created with this role, so aws-cdk-lib's DistributedMapPolicy is already on the role. ` +
          'Call addDefinition (or pass `definitionBody`) before creating the state machine.',
      );
    }
    this.distributedMaps.push(...tasks.distributedMaps);
    this.waitingTasks.push(...tasks.waitingTasks);
    this.parentRole.replace(tasks.replacedStatements, tasks.replacedAssumeRoles);
    children.forEach((record) => this.policies.add(record));
    runtimeStates.forEach((state) => this.usedRuntimeChildren.add(state));
    tasks.nested.filter((t) => t.stateMachineArn === undefined).forEach((t) => this.runtimeStates.add(t.stateName));
    this.otherTasks.push(...tasks.others);
    this.policies.fromDefinition = true;
  }

  private validateRuntimeChildren(): string[] {
    const unused = [...this.runtimeChildren.keys()].filter((state) => !this.usedRuntimeChildren.has(state));
    const known =
      this.runtimeStates.size > 0
        ? `the states that do: ${quoteAll([...this.runtimeStates])}`
        : 'none of its states does';
    return unused.map(
      (state) =>
        `\`runtimeChildren\` names state '${state}', but no definition of this role has a state '${state}' that takes its child's ARN at run time (${known}). ` +
        'Check the state name, or remove the entry.',
    );
  }

  /** The Map Run grants of the definitions' Distributed Maps, on the parent itself (once, at synthesis). */
  private grantMapRuns(): void {
    if (this.distributedMaps.length === 0 || this.node.tryFindChild('MapRunPolicy')) return;
    const parent = mapRunParent(this, this.role, this.parentStateMachineName, this.distributedMaps);
    if (typeof parent === 'string') {
      this.mapRunError = parent;
      return;
    }
    attachMapRunPolicy(this, this.role, mapRunStatements(parent, this.distributedMaps));
  }

  /** The Map Run error, and the waiting tasks of a definition whose parent turns out Express at synthesis. */
  private validateExecutionTypes(): string[] {
    const errors = this.mapRunError ? [this.mapRunError] : [];
    if (this.parentStateMachineType !== sfn.StateMachineType.EXPRESS) {
      for (const user of expressUsers(this.role)) {
        const error = expressParentError(
          `the parent state machine ${user} that uses this role is EXPRESS`,
          this.waitingTasks,
        );
        if (error) errors.push(error);
      }
    }
    return errors;
  }

  /**
   * The advisories, once the definitions are known: tasks this role does not grant, grants it cannot replace. They are
   * reported on the inner role, so that `Annotations.of(parentRole).acknowledgeWarning(id)` (which aws-cdk-lib applies
   * to the children of a scope) silences them.
   */
  private warn(): void {
    if (this.otherTasks.length > 0) {
      Annotations.of(this.role).addWarningV2(
        'cdk-nested-workflow-role:tasksNotGranted',
        `NestedWorkflowRole grants only nested workflows; these tasks of the definition get no grant from it: ${[...new Set(this.otherTasks)].join(', ')}. ` +
          "Grant them with the services' own grant methods (e.g. fn.grantInvoke(parentRole.role)) or parentRole.role.addToPrincipalPolicy(...), " +
          "then acknowledge this warning: Annotations.of(parentRole).acknowledgeWarning('cdk-nested-workflow-role:tasksNotGranted', reason).",
      );
    }
    const foreign = this.parentRole.foreignChildGrants();
    if (foreign.length > 0) {
      const statements = foreign.map(
        (s) => `${s.actions.join(', ')} on ${s.resources.map((r) => describeValue(this, r)).join(', ')}`,
      );
      Annotations.of(this.role).addWarningV2(
        'cdk-nested-workflow-role:foreignStatesGrants',
        `The role also holds statements that start child state machines which this library did not make: ${statements.join('; ')}. ` +
          'They come from StepFunctionsStartExecution (or CallAwsService sfn:startExecution) tasks of a definition the role was not given, ' +
          "or from grants of your own, and may grant more than the children need. Pass the parent's definition to NestedWorkflowRole " +
          '(`definitionBody` or `addDefinition`, before creating the state machine) so that it grants those children exactly instead.',
      );
    }
  }
}

interface CheckedDefinition {
  readonly tasks: DefinitionTasks;
  readonly children: ChildRecord[];
  /** States whose children were declared in `runtimeChildren`. */
  readonly runtimeStates: string[];
}

function quoteAll(names: string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}
