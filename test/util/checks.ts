/**
 * Runs `NestedWorkflowChecks` on an app and reads its report, on aws-cdk-lib versions that write the report and set
 * `process.exitCode` (2.258) and on those that throw when a plugin reports errors (newer ones): the report file is
 * written before either.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { ACCOUNT, inStackChild, REGION, stateMachineArn } from './fixtures';
import { NestedWorkflowChecks, NestedWorkflowRole } from '../../lib';

export interface ReportedViolation {
  readonly ruleName: string;
  readonly description: string;
  readonly severity?: string;
  readonly fix?: string;
  readonly violatingConstructs: { readonly constructPath: string; readonly resourceLogicalId?: string }[];
}

export interface CheckRun {
  readonly violations: ReportedViolation[];
  readonly success: boolean;
  /** The cloud assembly directory (removed by `cleanUp`). */
  readonly outdir: string;
}

/** A new app writing to a temporary directory. */
export function newCheckedApp(): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwr-checks-'));
  return new App({ outdir, context: { 'aws:cdk:disable-creation-stack-traces': true } });
}

/** Synthesizes `app` with the plugin (added here) and returns its report. */
export function runChecks(app: App): CheckRun {
  Validations.of(app).addPlugins(new NestedWorkflowChecks());
  const exitCode = process.exitCode;
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    app.synth();
  } catch (e) {
    // Newer aws-cdk-lib throws when a plugin reports errors; the report is written first.
    if (!fs.existsSync(path.join(app.outdir, 'validation-report.json'))) throw e;
  } finally {
    process.exitCode = exitCode;
    log.mockRestore();
    error.mockRestore();
  }
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  const plugin = report.pluginReports.find((r: any) => r.pluginName === 'NestedWorkflowChecks');
  // aws-cdk-lib leaves a successful plugin with no violation out of the report.
  if (!plugin) return { violations: [], success: true, outdir: app.outdir };
  if (plugin.metadata?.error) throw new Error(plugin.metadata.error);
  return { violations: plugin.violations, success: plugin.conclusion === 'success', outdir: app.outdir };
}

/** `rule: path` for each violating construct, sorted: what a test compares. */
export function summarize(violations: ReportedViolation[]): string[] {
  return violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName}: ${c.constructPath}`)).sort();
}

export function cleanUp(run: CheckRun): void {
  fs.rmSync(run.outdir, { recursive: true, force: true });
}

const PARENT_FILE = path.join(__dirname, '..', 'definitions', 'parent.asl.json');

/** The substitutions of parent.asl.json: four children of the stack's account and a Lambda function. */
function parentSubstitutions(): { [key: string]: string } {
  return {
    SyncChildArn: stateMachineArn('SyncChild'),
    RequestChildArn: stateMachineArn('RequestChild'),
    CallbackChildArn: stateMachineArn('CallbackChild'),
    JsonataChildArn: stateMachineArn('JsonataChild'),
    NotifyFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Notify`,
  };
}

/** A hand-written L1 parent: a `.sync` child, and a policy with StartExecution and the events grant only. */
function handWrittenParent(stack: Stack, child: sfn.IStateMachine) {
  const role = new iam.CfnRole(stack, 'HandWrittenRole', {
    assumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    },
    policies: [
      {
        policyName: 'StartChild',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'states:StartExecution', Resource: child.stateMachineArn },
            {
              Effect: 'Allow',
              Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
              Resource: stack.formatArn({
                service: 'events',
                resource: 'rule',
                resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
              }),
            },
          ],
        },
      },
    ],
  });
  return new sfn.CfnStateMachine(stack, 'HandWrittenParent', {
    roleArn: role.attrArn,
    definitionString: JSON.stringify({
      StartAt: 'Run child',
      States: {
        'Run child': {
          Type: 'Task',
          Resource: 'arn:${AWS::Partition}:states:::states:startExecution.sync:2',
          Parameters: { StateMachineArn: '${ChildArn}' },
          End: true,
        },
      },
    }),
    definitionSubstitutions: { ChildArn: child.stateMachineArn, 'AWS::Partition': stack.partition },
  });
}

/**
 * The mixed app, in a stack `Stack` of a known environment: a NestedWorkflowRole parent from
 * test/definitions/parent.asl.json (`LibraryParent`), an aws-cdk-lib StepFunctionsStartExecution parent
 * (`TaskParent`), and an L1 parent whose hand-written policy lacks Describe/Stop (`HandWrittenParent`).
 */
export function addMixedParents(app: App): Stack {
  const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
  const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });

  const definitionBody = sfn.DefinitionBody.fromFile(PARENT_FILE);
  const definitionSubstitutions = parentSubstitutions();
  const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions });
  new sfn.StateMachine(stack, 'LibraryParent', { role: parentRole.role, definitionBody, definitionSubstitutions });

  new sfn.StateMachine(stack, 'TaskParent', {
    definitionBody: sfn.DefinitionBody.fromChainable(
      new tasks.StepFunctionsStartExecution(stack, 'Run', {
        stateMachine: child,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      }),
    ),
  });
  handWrittenParent(stack, child);
  return stack;
}
