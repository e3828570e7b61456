import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ASSUME_ROLE, EXECUTION_ACTIONS, START_ACTIONS } from '../model/actions';

/**
 * The parent's role. aws-cdk-lib task constructs that start children (`StepFunctionsStartExecution`) add their own
 * statements to the state machine's role when the state machine is created; for a definition the role reads (given,
 * or derived from the state machine that uses it), this role grants those children exactly instead, so it leaves those
 * statements out. Every other statement (other tasks, logging, tracing, users' own) is added as usual.
 *
 * Which statements to leave out is known only once every definition is read, which for a derived definition is at
 * synthesis: until phase 1 (`settle`, see `lifecycle.ts`) the role holds every statement back, then adds those that
 * are not replaced, in the order they came. The order of construction does not matter.
 */
export class ParentRole extends iam.Role {
  private readonly replaced = new Set<iam.PolicyStatement>();
  private readonly replacedAssumeRoles = new Set<string>();
  private readonly added = new Set<iam.PolicyStatement>();
  /** aws-cdk-lib's `DistributedMapPolicy` of each state machine that uses the role, held until phase 1 decides. */
  private readonly distributedMapPolicies: iam.Policy[] = [];
  /** Set by phase 1: whether the role grants the Map Runs itself (undefined: not decided yet). */
  private grantsMapRuns?: boolean;
  /** The statements that came before phase 1, held back until it. */
  private readonly held: iam.PolicyStatement[] = [];
  private settled = false;

  /** Leaves `statements` (and `sts:AssumeRole` statements on exactly `assumeRoles`) out of the role from now on. */
  public replace(statements: iam.PolicyStatement[], assumeRoles: string[]): void {
    statements.forEach((s) => this.replaced.add(s));
    assumeRoles.forEach((arn) => this.replacedAssumeRoles.add(arn));
  }

  /**
   * Phase 1, once every definition is read: adds the held statements that are not replaced, and settles aws-cdk-lib's
   * `DistributedMapPolicy` (attached for `sfn.DistributedMap` states of a chain): left out when the role grants the
   * Map Runs itself (exactly, and counted against the inline quota), never both; attached as aws-cdk-lib meant
   * otherwise.
   */
  public settle(grantsMapRuns: boolean): void {
    this.settled = true;
    this.held.splice(0).forEach((statement) => this.addNow(statement));
    this.grantsMapRuns = grantsMapRuns;
    if (!grantsMapRuns) this.distributedMapPolicies.forEach((policy) => super.attachInlinePolicy(policy));
  }

  public attachInlinePolicy(policy: iam.Policy): void {
    // aws-cdk-lib's StateGraph.bind: `new iam.Policy(stateMachine, 'DistributedMapPolicy')`. Left unattached, the
    // policy is not synthesized (iam.Policy renders only attached, non-empty policies).
    const fromStateMachine = policy.node.id === 'DistributedMapPolicy' && policy.node.scope instanceof sfn.StateMachine;
    if (fromStateMachine && this.grantsMapRuns !== false) {
      if (this.grantsMapRuns === undefined && !this.distributedMapPolicies.includes(policy)) {
        this.distributedMapPolicies.push(policy);
      }
      return;
    }
    super.attachInlinePolicy(policy);
  }

  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    if (!this.settled) {
      this.held.push(statement);
      // The policy that will hold it is a child of this role: depending on the role depends on it.
      return { statementAdded: true, policyDependable: this };
    }
    return this.addNow(statement);
  }

  private addNow(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    if (this.replaced.has(statement) || this.isReplacedAssumeRole(statement)) {
      // The policies that grant the child exactly are children of this role: depending on it depends on them.
      return { statementAdded: true, policyDependable: this };
    }
    this.added.add(statement);
    return super.addToPrincipalPolicy(statement);
  }

  /**
   * The statements that reached the role from outside this library and start child state machines
   * (`states:StartExecution`, `states:StartSyncExecution`), with, when there is one, those that describe or stop
   * executions (which aws-cdk-lib's `.sync` tasks add beside the start). A statement that only describes or stops
   * executions, with no start beside it, is a task of the parent's own (a `CallAwsService` `sfn:describeExecution`
   * on executions it did not start): not a child's grant, so not returned.
   */
  public foreignChildGrants(): iam.PolicyStatement[] {
    const has = (s: iam.PolicyStatement, actions: string[]) => s.actions.some((a) => actions.includes(a));
    const statements = [...this.added];
    if (!statements.some((s) => has(s, START_ACTIONS))) return [];
    return statements.filter((s) => has(s, [...START_ACTIONS, ...EXECUTION_ACTIONS]));
  }

  private isReplacedAssumeRole(statement: iam.PolicyStatement): boolean {
    return (
      statement.actions.length === 1 &&
      statement.actions[0] === ASSUME_ROLE &&
      statement.resources.length > 0 &&
      statement.resources.every((r) => this.replacedAssumeRoles.has(r)) &&
      Object.keys(statement.conditions ?? {}).length === 0
    );
  }
}
