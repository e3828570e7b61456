import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole } from '../../lib';
import { ACCOUNT, executionArn, importedChild, PARTITION, REGION, stateMachineArn } from '../util/fixtures';
import { simulate, parentRolePolicies } from '../util/simulator';

/**
 * lib/private/definition.ts reads a `DefinitionBody.fromChainable` chain through members aws-cdk-lib does not make
 * public: `taskPolicies` (TaskStateBase, protected: the statements a task adds to the state machine's role, which the
 * role replaces with exact grants), `branches` and `_branches` (State and Parallel: a Parallel's branches once bound to
 * a graph, and before), `iteration` and `processor` (State: a Map's iterator and item processor graphs).
 *
 * A later aws-cdk-lib that renames or reshapes one of them would silently bring back aws-cdk-lib's own statements
 * (`execution:<name>*`, no colon) or miss nested children. Every jest suite runs on the aws-cdk-lib floor and on the
 * newest release (CONTRIBUTING): these tests fail on the version that breaks, naming the member.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('aws-cdk-lib/package.json').version;
const ENV = { partition: PARTITION, region: REGION, account: ACCOUNT };

/** The member `name` of `owner`, or an error that names it, the aws-cdk-lib version and what reads it. */
function member(owner: object, name: string, readBy: string): unknown {
  if (!(name in owner)) {
    throw new Error(
      `aws-cdk-lib ${VERSION}: ${owner.constructor.name} has no member \`${name}\`, which lib/private/definition.ts ` +
        `${readBy} reads. Find where this aws-cdk-lib keeps it and update the reader.`,
    );
  }
  return (owner as { [key: string]: unknown })[name];
}

/** A StateGraph whose start state is `start`, or a failed expectation. */
function expectGraphStartingAt(value: unknown, start: sfn.State): void {
  expect(value).toBeInstanceOf(sfn.StateGraph);
  expect((value as sfn.StateGraph).startState).toBe(start);
}

function newStack(): Stack {
  return new Stack(new App({ context: { 'aws:cdk:disable-creation-stack-traces': true } }), 'Stack', {
    env: { account: ACCOUNT, region: REGION },
  });
}

/** A `.sync` task starting the imported child `Worker`: aws-cdk-lib grants its executions as `execution:Worker*`. */
function startWorker(stack: Stack, id = 'Start worker'): tasks.StepFunctionsStartExecution {
  return new tasks.StepFunctionsStartExecution(stack, id, {
    stateMachine: importedChild(stack, 'Worker', stateMachineArn('Worker')),
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
  });
}

describe(`aws-cdk-lib ${VERSION}: the members that are not public, as lib/private/definition.ts reads them`, () => {
  test('`taskPolicies` of StepFunctionsStartExecution: the PolicyStatements it adds for the child', () => {
    const stack = newStack();
    const task = startWorker(stack);
    const policies = member(task, 'taskPolicies', 'readChain');
    expect(Array.isArray(policies)).toBe(true);
    const statements = policies as unknown[];
    expect(statements.length).toBeGreaterThan(0);
    statements.forEach((s) => expect(s).toBeInstanceOf(iam.PolicyStatement));
    const json = (statements as iam.PolicyStatement[]).map((s) => stack.resolve(s.toStatementJson()));
    const actions = json.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining(['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution']),
    );
    expect(json.flatMap((s) => [s.Resource].flat())).toContain(stateMachineArn('Worker'));
  });

  test('`taskPolicies` of CallAwsService on sfn:startSyncExecution: the PolicyStatement it adds for the child', () => {
    const stack = newStack();
    const task = new tasks.CallAwsService(stack, 'Run express', {
      service: 'sfn',
      action: 'startSyncExecution',
      parameters: { StateMachineArn: stateMachineArn('Express') },
      iamResources: [stateMachineArn('Express')],
    });
    const policies = member(task, 'taskPolicies', 'readChain');
    expect(Array.isArray(policies)).toBe(true);
    const json = (policies as iam.PolicyStatement[]).map((s) => {
      expect(s).toBeInstanceOf(iam.PolicyStatement);
      return stack.resolve(s.toStatementJson());
    });
    // aws-cdk-lib writes the action as `<service>:<action>` from the props (IAM matches actions case-insensitively).
    expect(json).toEqual([
      { Action: 'states:startSyncExecution', Effect: 'Allow', Resource: stateMachineArn('Express') },
    ]);
  });

  test('`_branches` of a Parallel not yet bound to a graph: the chains given to branch()', () => {
    const stack = newStack();
    const task = startWorker(stack);
    const parallel = new sfn.Parallel(stack, 'Fan out').branch(task);
    const branches = member(parallel, '_branches', 'allStates');
    expect(Array.isArray(branches)).toBe(true);
    expect((branches as sfn.IChainable[]).map((b) => b.startState)).toEqual([task]);
  });

  test('`branches` of a Parallel bound to a graph: one StateGraph per branch', () => {
    const stack = newStack();
    const task = startWorker(stack);
    const parallel = new sfn.Parallel(stack, 'Fan out').branch(task);
    new sfn.StateGraph(parallel, 'Parent');
    const branches = member(parallel, 'branches', 'allStates');
    expect(Array.isArray(branches)).toBe(true);
    expect(branches).toHaveLength(1);
    expectGraphStartingAt((branches as unknown[])[0], task);
  });

  test('`iteration` of a Map given iterator(): its StateGraph', () => {
    const stack = newStack();
    const task = startWorker(stack);
    const map = new sfn.Map(stack, 'For each').iterator(task);
    expectGraphStartingAt(member(map, 'iteration', 'allStates'), task);
  });

  test('`processor` of a Map given itemProcessor(): its StateGraph', () => {
    const stack = newStack();
    const task = startWorker(stack);
    const map = new sfn.Map(stack, 'For each').itemProcessor(task);
    expectGraphStartingAt(member(map, 'processor', 'allStates'), task);
  });

  test('`processor` of a DistributedMap given itemProcessor(): its StateGraph', () => {
    const stack = newStack();
    const task = startWorker(stack);
    const map = new sfn.DistributedMap(stack, 'For each').itemProcessor(task);
    expectGraphStartingAt(member(map, 'processor', 'allStates'), task);
  });
});

type Placement = (stack: Stack, task: sfn.TaskStateBase) => sfn.IChainable;

/** Where a task starting a child can sit in a chain, and which member reaches it there. */
const PLACEMENTS: { [name: string]: Placement } = {
  'at the top (taskPolicies)': (_stack, task) => task,
  'in a Parallel branch (_branches)': (stack, task) => new sfn.Parallel(stack, 'Fan out').branch(task),
  'in a Parallel bound by a Map item processor (processor, branches)': (stack, task) =>
    new sfn.Map(stack, 'For each').itemProcessor(new sfn.Parallel(stack, 'Fan out').branch(task)),
  'in a Map iterator (iteration)': (stack, task) => new sfn.Map(stack, 'For each').iterator(task),
  'in a Map item processor (processor)': (stack, task) => new sfn.Map(stack, 'For each').itemProcessor(task),
  'in a DistributedMap item processor (processor)': (stack, task) =>
    new sfn.DistributedMap(stack, 'For each').itemProcessor(task),
};

describe(`aws-cdk-lib ${VERSION}: a parent built from StepFunctionsStartExecution, through the public API`, () => {
  test.each(Object.keys(PLACEMENTS))(
    'a .sync child %s: its executions are Allowed and a name sharing its prefix is Denied',
    async (placement) => {
      // GIVEN a chain with a task that starts Worker synchronously, given to the role and to the parent
      const stack = newStack();
      const definitionBody = sfn.DefinitionBody.fromChainable(PLACEMENTS[placement](stack, startWorker(stack)));
      const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
      new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });

      // WHEN the parent role's policies are simulated
      const template = Template.fromStack(stack).toJSON();
      const policies = parentRolePolicies(template, ENV);
      const decide = async (action: string, resource: string) =>
        (await simulate(policies, { action, resource }, ENV)) === 'Allowed' ? 'Allowed' : 'Denied';

      // THEN the reader found the task (the child's calls are Allowed) and aws-cdk-lib's `execution:Worker*`
      // statement was replaced (WorkerAdmin's executions are Denied)
      expect({
        start: await decide('states:StartExecution', stateMachineArn('Worker')),
        describe: await decide('states:DescribeExecution', executionArn('Worker', 'run-1')),
        stop: await decide('states:StopExecution', executionArn('Worker', 'run-1')),
        describeWorkerAdmin: await decide('states:DescribeExecution', executionArn('WorkerAdmin', 'run-1')),
        stopWorkerAdmin: await decide('states:StopExecution', executionArn('WorkerAdmin', 'run-1')),
      }).toEqual({
        start: 'Allowed',
        describe: 'Allowed',
        stop: 'Allowed',
        describeWorkerAdmin: 'Denied',
        stopWorkerAdmin: 'Denied',
      });
    },
  );
});
