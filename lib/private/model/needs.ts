import { IntegrationPattern } from 'aws-cdk-lib/aws-stepfunctions';
import { EVENTS_ACTIONS, EXECUTION_ACTIONS, START_EXECUTION, START_SYNC_EXECUTION } from './actions';

/** What a child needs granted, whatever construct asks. */
export interface ChildNeeds {
  /** `states:StartExecution` on the child. */
  readonly start: boolean;
  /** `states:StartSyncExecution` on the child (an Express child run synchronously). */
  readonly startSync: boolean;
  /** `states:DescribeExecution` + `states:StopExecution` on the child's executions. */
  readonly executions: boolean;
  /** `events:*` on the managed rule in the parent's region and account. */
  readonly managedRule: boolean;
  /** `kms:Decrypt` on this key (ARN), for the child's encryption context. */
  readonly decryptKey?: string;
  /** `sts:AssumeRole` on this role (ARN): the child is started through it, nothing else is granted here. */
  readonly assumeRole?: string;
  /**
   * True when Step Functions sends the parent's ARN as `sts:ExternalId` to start the child (`.sync` in another
   * account): the parent's name must then fit `sts:ExternalId` (`externalIdNameProblem`).
   */
  readonly parentArnIsExternalId?: boolean;
}

/** How a child is started, as far as its grants go. */
export interface ChildPattern {
  readonly integrationPattern: IntegrationPattern;
  /** True for an Express child. */
  readonly express: boolean;
  /**
   * For `RUN_JOB` on an Express child: true when the parent's task is `states:startExecution.sync` (or `.sync:2`),
   * false (the default) for `aws-sdk:sfn:startSyncExecution`.
   */
  readonly startExecutionSync?: boolean;
  /** The child's customer managed key (ARN), if any. */
  readonly encryptionKey?: string;
  /**
   * Who is granted: `parent` (the parent's own role), `parent-via-role` (the parent assumes `credentialsRole`) or
   * `target` (the role the parent assumes, in the child's account: Step Functions polls, no events rule).
   */
  readonly grantee: 'parent' | 'parent-via-role' | 'target';
  readonly credentialsRole?: string;
}

/**
 * What a child needs, by integration pattern (the one place that decides it):
 * - request-response and callback: StartExecution;
 * - run a job, Standard child: StartExecution, Describe/Stop on its executions, the events rule (not for a target
 *   role: cross-account `.sync` only polls), and kms:Decrypt when the child has a customer managed key;
 * - run a job, Express child (`aws-sdk:sfn:startSyncExecution`): StartSyncExecution only (+ kms:Decrypt);
 * - run a job, Express child started with `startExecution.sync` in the parent's account: what a Standard child gets,
 *   and nothing on `express:<name>:*`: "Executions of an EXPRESS state machine aren't supported by DescribeExecution
 *   unless a Map Run dispatched them" (DescribeExecution API reference), and SAM's integration test
 *   (aws/serverless-application-model `integration/resources/templates/combination/connector_sfn_to_sfn_sync.yaml`)
 *   runs this pair to SUCCEEDED with no `express:` grant;
 * - started through a credentials role: only sts:AssumeRole on that role; for run a job, Step Functions sends the
 *   parent's ARN as `sts:ExternalId` (so does it to a target role granting run a job).
 */
export function needsFor(child: ChildPattern): ChildNeeds {
  const none = { start: false, startSync: false, executions: false, managedRule: false };
  const sync = child.integrationPattern === IntegrationPattern.RUN_JOB;
  const parentArnIsExternalId = sync && child.grantee !== 'parent' ? true : undefined;
  if (child.grantee === 'parent-via-role') {
    return { ...none, assumeRole: child.credentialsRole, parentArnIsExternalId };
  }
  const decryptKey = sync ? child.encryptionKey : undefined;
  if (sync && child.express && !child.startExecutionSync) {
    return { ...none, startSync: true, decryptKey };
  }
  return {
    ...none,
    start: true,
    executions: sync,
    managedRule: sync && child.grantee === 'parent',
    decryptKey,
    parentArnIsExternalId,
  };
}

/** What a child needs when it is granted by several records (the same child added with several patterns). */
export function unionNeeds(needs: ChildNeeds[]): ChildNeeds {
  return {
    start: needs.some((n) => n.start),
    startSync: needs.some((n) => n.startSync),
    executions: needs.some((n) => n.executions),
    managedRule: needs.some((n) => n.managedRule),
    decryptKey: needs.find((n) => n.decryptKey !== undefined)?.decryptKey,
    assumeRole: needs.find((n) => n.assumeRole !== undefined)?.assumeRole,
    parentArnIsExternalId: needs.some((n) => n.parentArnIsExternalId === true) || undefined,
  };
}

/**
 * The grants of `needs` as IAM actions, each with what it is on (for messages): every need but `assumeRole` and
 * `decryptKey`, whose resource (a role, a key) the caller compares and names itself.
 */
export function actionsOfNeeds(needs: ChildNeeds): string[] {
  const actions: string[] = [];
  if (needs.start) actions.push(START_EXECUTION);
  if (needs.startSync) actions.push(START_SYNC_EXECUTION);
  if (needs.executions) actions.push(...EXECUTION_ACTIONS);
  if (needs.managedRule) actions.push(...EVENTS_ACTIONS);
  return actions;
}

/** The actions `needed` asks for that `have` lacks (as `actionsOfNeeds` names them). */
export function missingActions(have: ChildNeeds, needed: ChildNeeds): string[] {
  const granted = new Set(actionsOfNeeds(have));
  return actionsOfNeeds(needed).filter((action) => !granted.has(action));
}
