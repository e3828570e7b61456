import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { checkChild, checkMaxManagedPolicies, ChildRecord, externalIdNameError } from './child-checks';
import { deriveFromUsers } from './derive';
import { describeValue } from './describe';
import { ParentPhases, registerParentRole } from './lifecycle';
import { attachMapRunPolicy, expressUsers, MAP_RUN_POLICY_ID, mapRunParent } from './map-run';
import { ParentRole } from './parent-role';
import { ChildPolicies } from './policies';
import { GivenDefinition, UsageChecks, warnIfNotUsed } from './usage';
import type {
  NestedWorkflowChildOptions,
  NestedWorkflowRoleProps,
  NestedWorkflowRuntimeChildren,
} from '../../nested-workflow-role';
import { unqualifiedStateMachineArn } from '../model/arns';
import { checkDistributedMaps, expressParentError } from '../model/execution';
import { NAME_RULE, nameProblem } from '../model/names';
import { displayValue } from '../model/render';
import { DistributedMapState, NestedTask, WaitingTask } from '../model/tasks';
import { taskGrantsIn } from '../read/chain';
import { DefinitionTasks, readDefinition } from '../read/definition';
import { findRoleUsers, RoleUser, userPath } from '../read/role-users';
import { stateMachineOfArn } from '../read/state-machines';

/** The warning of tasks that a definition runs and this library does not grant. */
export const TASKS_NOT_GRANTED = 'cdk-nested-workflow-role:tasksNotGranted';

/**
 * What a `NestedWorkflowRole` decides: its props checked before anything is created, the role, the children and
 * definitions it grants, and its phases at synthesis (registered in `lifecycle.ts`). The construct holds the public
 * API and calls in here.
 */
export class ParentGrants implements ParentPhases {
  public readonly role: ParentRole;

  private readonly policies: ChildPolicies;
  private readonly usage: UsageChecks;
  private readonly runtimeChildren = new Map<string, NestedWorkflowRuntimeChildren>();
  /**
   * Every state of the role's definitions that takes its child's ARN at run time (each one is declared in
   * `runtimeChildren`: an undeclared one is refused when its definition is read).
   */
  private readonly runtimeStates = new Set<string>();
  private readonly otherTasks: string[] = [];
  private readonly distributedMaps: DistributedMapState[] = [];
  private readonly waitingTasks: WaitingTask[] = [];
  private readonly givenDefinitions: GivenDefinition[] = [];
  private readonly parentStateMachineName?: string;
  private readonly parentStateMachineType?: sfn.StateMachineType;
  /** The state machines the role derived its grants from (phase 1). */
  private derived: ReadonlySet<sfn.CfnStateMachine> = new Set();
  private mapRunError?: string;

  /** Validates every prop, then creates the role: a bad prop creates nothing. */
  constructor(
    private readonly owner: Construct,
    props: NestedWorkflowRoleProps,
  ) {
    const path = owner.node.path;
    const stack = Stack.of(owner);
    const maxManagedPolicies = checkMaxManagedPolicies(owner, props.maxManagedPolicies);
    const name = props.parentStateMachineName;
    const nameError = name !== undefined && !Token.isUnresolved(name) ? nameProblem(name) : undefined;
    if (nameError) {
      throw new Error(
        `${path}: \`parentStateMachineName\` must be a state machine name (${NAME_RULE}), got: ${displayValue(name!)}, which ${nameError}. ` +
          'Pass the name, not the ARN, of the parent state machine.',
      );
    }
    if (props.child === undefined && props.integrationPattern !== undefined) {
      throw new Error(
        `${path}: \`integrationPattern\` applies to \`child\`, but no \`child\` was given. ` +
          'Pass `child` too, or give the pattern to `addChild(child, { integrationPattern })`.',
      );
    }
    this.parentStateMachineName = name;
    this.parentStateMachineType = props.parentStateMachineType;
    const first = props.child ? checkChild(owner, props.child, props, 'parent') : undefined;
    for (const entry of props.runtimeChildren ?? []) {
      if (entry.children.length === 0 || this.runtimeChildren.has(entry.stateName)) {
        throw new Error(
          `${path}: \`runtimeChildren\` must name each state once with at least one child, got: '${entry.stateName}' ` +
            (entry.children.length === 0 ? 'with no children.' : 'twice.'),
        );
      }
      this.runtimeChildren.set(entry.stateName, entry);
    }
    if (props.definitionBody === undefined && props.definitionSubstitutions !== undefined) {
      throw new Error(
        `${path}: \`definitionSubstitutions\` apply to \`definitionBody\`, but no \`definitionBody\` was given. ` +
          'Pass `definitionBody` too, or use `addDefinition(definitionBody, definitionSubstitutions)`.',
      );
    }
    const definition = props.definitionBody
      ? this.checkDefinition(props.definitionBody, props.definitionSubstitutions)
      : undefined;
    this.checkParentName([...(first ? [first] : []), ...(definition?.children ?? [])]);

    const sourceArn = (resourceName: string) =>
      unqualifiedStateMachineArn({
        partition: stack.partition,
        region: stack.region,
        account: stack.account,
        name: resourceName,
      });
    this.role = new ParentRole(owner, 'Resource', {
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
    this.usage = new UsageChecks({
      owner,
      role: this.role,
      definitions: () => [...this.givenDefinitions],
      records: () => this.policies.records(),
      taskRecords: (task) => this.taskRecords(task),
      readTasks: (body, substitutions, where) => readDefinition(where, body, substitutions).nested,
    });
    this.policies = new ChildPolicies(owner, this.role, maxManagedPolicies);
    if (first) this.policies.add(first);
    if (definition) {
      this.applyDefinition(definition, { body: props.definitionBody!, substitutions: props.definitionSubstitutions });
    }
    registerParentRole(owner, this.role, this, this.policies);
  }

  /** `addDefinition`: the user's call, before or after the state machine that uses the role was created. */
  public addDefinition(body: sfn.DefinitionBody, substitutions?: { [key: string]: string }): void {
    const definition = this.checkDefinition(body, substitutions);
    this.checkParentName(definition.children);
    this.applyDefinition(definition, { body, substitutions });
  }

  /** `addChild`. */
  public addChild(child: sfn.IStateMachine, options: NestedWorkflowChildOptions): void {
    const record = checkChild(this.owner, child, options, 'parent');
    this.checkParentName([record]);
    this.policies.add(record);
  }

  /**
   * Phase 1: the usage warning; for a role given nothing, the grants of the definitions of the state machines that
   * use it (the derive path); then the role adds the statements it held back but those its definitions replace, and
   * leaves out aws-cdk-lib's `DistributedMapPolicy` if it grants the Map Runs itself.
   */
  public derive(): void {
    const users = warnIfNotUsed(this.role);
    if (users.length > 0 && this.givenDefinitions.length === 0 && this.policies.records().length === 0) {
      this.derived = deriveFromUsers(this.owner, users, (body, substitutions, where, rendered) => {
        const derived = this.checkDefinition(body, substitutions, where);
        if (!rendered) {
          this.applyDefinition(derived);
          return;
        }
        // A rendered chain: its aws-cdk-lib tasks that start children already gave the role their statements (held
        // back: replaced here), and its other tasks are constructs that grant themselves.
        const names = new Set(derived.tasks.nested.map((task) => task.stateName));
        const replaced = taskGrantsIn(this.owner.node.root, names);
        this.applyDefinition({ ...derived, tasks: { ...derived.tasks, ...replaced, others: [] } });
      });
    }
    this.role.settle(this.distributedMaps.length > 0);
  }

  /** Phase 2: the Map Run grants of the definitions' Distributed Maps, on the parent itself. */
  public grantMapRuns(): void {
    if (this.distributedMaps.length === 0 || this.owner.node.tryFindChild(MAP_RUN_POLICY_ID)) return;
    const parent = mapRunParent(this.owner, this.role, this.parentStateMachineName, this.distributedMaps);
    if (typeof parent === 'string') {
      this.mapRunError = parent;
      return;
    }
    attachMapRunPolicy(this.owner, this.role, parent, this.distributedMaps);
  }

  /**
   * Phase 3: the advisories, once the definitions are known: tasks this role does not grant, grants it cannot
   * replace. They are reported on the inner role, so that `Annotations.of(parentRole).acknowledgeWarning(id)` (which
   * aws-cdk-lib applies to the children of a scope) silences them.
   */
  public warn(): void {
    if (this.otherTasks.length > 0) {
      Annotations.of(this.role).addWarningV2(
        TASKS_NOT_GRANTED,
        `NestedWorkflowRole grants only nested workflows; these tasks of the definition get no grant from it: ${[...new Set(this.otherTasks)].join(', ')}. ` +
          "Grant them with the services' own grant methods (e.g. fn.grantInvoke(parentRole.role)) or parentRole.role.addToPrincipalPolicy(...), " +
          `then acknowledge this warning: Annotations.of(parentRole).acknowledgeWarning('${TASKS_NOT_GRANTED}', reason).`,
      );
    }
    const foreign = this.role.foreignChildGrants();
    if (foreign.length > 0) {
      const statements = foreign.map(
        (s) => `${s.actions.join(', ')} on ${s.resources.map((r) => describeValue(this.owner, r)).join(', ')}`,
      );
      Annotations.of(this.role).addWarningV2(
        'cdk-nested-workflow-role:foreignStatesGrants',
        `The role also holds statements that start child state machines which this library did not make: ${statements.join('; ')}. ` +
          'They come from StepFunctionsStartExecution (or CallAwsService sfn:startExecution) tasks of a definition the role was not given, ' +
          "or from grants of your own, and may grant more than the children need. Pass the parent's definition to NestedWorkflowRole " +
          '(`definitionBody` or `addDefinition`) so that it grants those children exactly instead.',
      );
    }
  }

  /** Phase 5: usage mismatches, the packing's checks, `runtimeChildren`, the Map Run parent, an Express parent. */
  public validate(): string[] {
    // The state machines that use the role, found once (the app no longer changes once validation runs).
    const users = findRoleUsers(this.role);
    return [
      ...this.usage.validate(users, this.derived),
      ...this.policies.validate(this.distributedMaps.length > 0),
      ...this.validateRuntimeChildren(),
      ...this.validateExecutionTypes(users),
      ...this.validateParentNames(users),
    ];
  }

  /** `parentStateMachineName` against the external id rule of cross-account `.sync` children, before anything changes. */
  private checkParentName(records: ChildRecord[]): void {
    const error = externalIdNameError('`parentStateMachineName`', this.parentStateMachineName, records, 'Credentials');
    if (error) throw new Error(`${this.owner.node.path}: ${error}`);
  }

  /**
   * The names of the parents, known at synthesis, against the external id rule: `parentStateMachineName` (for
   * children derived at synthesis) and the `stateMachineName` of each state machine of the app that uses the role.
   */
  private validateParentNames(users: RoleUser[]): string[] {
    const records = this.policies.records();
    const errors = [
      externalIdNameError('`parentStateMachineName`', this.parentStateMachineName, records, 'Credentials'),
    ];
    for (const user of users) {
      errors.push(
        externalIdNameError(
          `the parent state machine ${userPath(user)} that uses this role is named`,
          user.resource.stateMachineName,
          records,
          'Credentials',
        ),
      );
    }
    return errors.filter((e): e is string => e !== undefined);
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
    where: string = this.owner.node.path,
  ): CheckedDefinition {
    const tasks = readDefinition(where, body, substitutions);
    checkDistributedMaps(where, tasks.distributedMaps, tasks.waitingTasks);
    if (this.parentStateMachineType === sfn.StateMachineType.EXPRESS) {
      const error = expressParentError('`parentStateMachineType` is EXPRESS', tasks.waitingTasks);
      if (error) throw new Error(`${where}: ${error}`);
    }
    const children: ChildRecord[] = [];
    const runtimeTasks = tasks.nested.filter((task) => task.stateMachineArn === undefined).map((t) => t.stateName);
    for (const task of tasks.nested) {
      const records = this.taskRecords(task);
      if (!records) {
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
      children.push(...records);
    }
    return { tasks, children };
  }

  private checkTaskChild(task: NestedTask, child: sfn.IStateMachine | string): ChildRecord {
    const inApp = typeof child !== 'string' && child instanceof sfn.StateMachine ? child : undefined;
    const integration = `state '${task.stateName}' (${task.resource})`;
    if (inApp && task.express && inApp.stateMachineType !== sfn.StateMachineType.EXPRESS) {
      throw new Error(
        `${this.owner.node.path}: ${integration} starts ${inApp.node.path}, a ${inApp.stateMachineType} state machine, but only Express ` +
          'state machines can be started with startSyncExecution. Use arn:<partition>:states:::states:startExecution.sync for a Standard child.',
      );
    }
    const input = {
      integrationPattern: task.integrationPattern,
      stateMachineType: task.express && !inApp ? sfn.StateMachineType.EXPRESS : undefined,
      credentialsRoleArn: task.credentialsRoleArn,
      stateName: task.stateName,
      startExecutionSync: !task.express && task.integrationPattern === sfn.IntegrationPattern.RUN_JOB,
    };
    if (task.constant === undefined) return checkChild(this.owner, child, input, 'parent');
    try {
      return checkChild(this.owner, child, input, 'parent');
    } catch (e) {
      // The same error, with what applies to a constant: it is not chosen at run time.
      throw new Error(
        `${(e as Error).message} The state's StateMachineArn is the constant ${task.constant}, so \`runtimeChildren\` does not apply to it: ` +
          "make the constant the child's state machine ARN.",
      );
    }
  }

  /** Grants a checked definition; `given` is the user's (`definitionBody`, `addDefinition`), absent when derived. */
  private applyDefinition(definition: CheckedDefinition, given?: GivenDefinition): void {
    const { tasks, children } = definition;
    this.distributedMaps.push(...tasks.distributedMaps);
    this.waitingTasks.push(...tasks.waitingTasks);
    this.role.replace(tasks.replacedStatements, tasks.replacedAssumeRoles);
    children.forEach((record) => this.policies.add(record));
    tasks.nested.filter((t) => t.stateMachineArn === undefined).forEach((t) => this.runtimeStates.add(t.stateName));
    this.otherTasks.push(...tasks.others);
    this.policies.fromDefinition = true;
    if (given) this.givenDefinitions.push(given);
  }

  private validateRuntimeChildren(): string[] {
    const unused = [...this.runtimeChildren.keys()].filter((state) => !this.runtimeStates.has(state));
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

  /** The Map Run error, and the waiting tasks of a definition whose parent turns out Express at synthesis. */
  private validateExecutionTypes(users: RoleUser[]): string[] {
    const errors = this.mapRunError ? [this.mapRunError] : [];
    if (this.parentStateMachineType !== sfn.StateMachineType.EXPRESS) {
      for (const user of expressUsers(users)) {
        const error = expressParentError(
          `the parent state machine ${user} that uses this role is EXPRESS`,
          this.waitingTasks,
        );
        if (error) errors.push(error);
      }
    }
    return errors;
  }
}

interface CheckedDefinition {
  readonly tasks: DefinitionTasks;
  readonly children: ChildRecord[];
}

function quoteAll(names: string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}
