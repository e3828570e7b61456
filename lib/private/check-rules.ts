/**
 * The rules of `NestedWorkflowChecks` and of `cdk-nested-workflow-role check`: stable ids (like cdk-nag's), a
 * severity, a one-line info and the fix. Acknowledge a rule by its id.
 */

export type Severity = 'error' | 'warning';

export interface CheckRule {
  readonly id: string;
  readonly severity: Severity;
  readonly info: string;
  readonly fix: string;
}

export const RULES = {
  missing: {
    id: 'NWR1',
    severity: 'error',
    info: "The parent's role does not allow a call Step Functions makes for a nested workflow, or the parent does not depend on the policy that allows it.",
    fix: 'Grant exactly what the parent needs: use NestedWorkflowRole, or print the policy with `npx cdk-nested-workflow-role policy <definition>`; a parent with a .sync child must DependsOn the policy holding the events grant.',
  },
  tooBroad: {
    id: 'NWR2',
    severity: 'warning',
    info: 'A statement that allows a call of a nested workflow also allows calls the parent never makes (other state machines, executions, rules, accounts or regions).',
    fix: "Scope the statement to the child (stateMachine:<name>, execution:<name>:* with the colon, the managed rule in the parent's region and account), or use NestedWorkflowRole.",
  },
  wrongPartition: {
    id: 'NWR3',
    severity: 'warning',
    info: 'An `arn:aws:` literal in a stack whose partition is not known to be aws: the ARN is wrong in aws-cn, aws-us-gov and other partitions.',
    fix: "Build the ARN from the stack's partition (${AWS::Partition}, Aws.PARTITION, Stack.of(this).formatArn), or give the stack an env in the aws partition.",
  },
  undecidable: {
    id: 'NWR4',
    severity: 'warning',
    info: 'The checks cannot decide whether the role allows what the parent needs: a value or condition is not known at synthesis.',
    fix: 'Check the finding by hand, or make the value known at synthesis (a stack env, a parameter Default, a child named in the definition).',
  },
  cannotRun: {
    id: 'NWR5',
    severity: 'error',
    info: 'The definition cannot run as it is: a task waits for a job or a callback (.sync, .waitForTaskToken) in an Express parent or in the Express child workflow executions of a Distributed Map, or a Map Run label is one Step Functions refuses.',
    fix: 'Use the request-response integration (or aws-sdk:sfn:startSyncExecution for an Express child), make the parent or the Distributed Map (ExecutionType) STANDARD, or rename the Map Run label, as the message says.',
  },
} as const satisfies { [name: string]: CheckRule };

export type RuleName = keyof typeof RULES;

/** One finding on one parent. */
export interface Finding {
  readonly rule: CheckRule;
  /** The parent state machine's logical id. */
  readonly parent: string;
  /** Other template resources concerned (the policy of a too broad statement). */
  readonly resources: string[];
  readonly message: string;
  readonly templatePath?: string;
}
