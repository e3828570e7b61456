import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Annotations as CoreAnnotations, App, CfnResource, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NestedWorkflowRole } from '../../lib';
import {
  ACCOUNT,
  importedChild,
  OTHER_ACCOUNT,
  policyDocuments,
  inStackChild,
  newStack,
  PARTITION,
  REGION,
  stateMachineArn,
  eventsStatement,
} from '../util/fixtures';
import { ChildScenario, ProbeCase, probesFor } from '../util/probes';
import {
  findRoleLogicalIds,
  RolePolicies,
  rolePolicies,
  failedProbes as simulatedFailures,
  parentRolePolicies,
} from '../util/simulator';

const PARENT = { partition: PARTITION, region: REGION, account: ACCOUNT };
const PARENT_ASL = path.join(__dirname, '..', 'definitions', 'parent.asl.json');
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Notify`;
const START = 'arn:aws:states:::states:startExecution';
const { RUN_JOB } = sfn.IntegrationPattern;

/** The children of `definitions/parent.asl.json` and how its states start them. */
const CHILDREN: ChildScenario[] = [
  { ...PARENT, name: 'SyncChild', pattern: 'RUN_JOB' },
  { ...PARENT, name: 'RequestChild', pattern: 'REQUEST_RESPONSE' },
  { ...PARENT, name: 'CallbackChild', pattern: 'WAIT_FOR_TASK_TOKEN' },
  { ...PARENT, name: 'JsonataChild', pattern: 'RUN_JOB' },
];

function substitutions(stack: Stack): { [key: string]: string } {
  return {
    SyncChildArn: inStackChild(stack, 'SyncChild', { stateMachineName: 'SyncChild' }).stateMachineArn,
    RequestChildArn: stateMachineArn('RequestChild'),
    CallbackChildArn: sfn.StateMachine.fromStateMachineName(stack, 'CallbackChild', 'CallbackChild').stateMachineArn,
    JsonataChildArn: stateMachineArn('JsonataChild'),
    NotifyFunctionArn: FUNCTION_ARN,
  };
}

/** One JSONPath Task state starting `arn` through `resource`. */
function oneTask(resource: string, arn: string, state = 'Start child'): string {
  return JSON.stringify({
    StartAt: state,
    States: { [state]: { Type: 'Task', Resource: resource, Parameters: { StateMachineArn: arn }, End: true } },
  });
}

function tempAsl(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'usage-')), 'parent.asl.json');
  fs.writeFileSync(file, text);
  return file;
}

function parentPolicies(stack: Stack): RolePolicies {
  return parentRolePolicies(Template.fromStack(stack).toJSON(), PARENT);
}

/** The probes that fail on `policies`, in the parent's environment. */
const failedProbes = (policies: RolePolicies, probes: ProbeCase[]) => simulatedFailures(policies, probes, PARENT);

/** Every child's probes; the managed rule is shared, so its probes apply to the synchronous children only. */
function childProbes(children: ChildScenario[]): ProbeCase[] {
  return children.flatMap((c) =>
    probesFor(c, PARENT).filter((p) => !p.action.startsWith('events:') || c.pattern === 'RUN_JOB'),
  );
}

function warnings(stack: Stack): string[] {
  return Annotations.fromStack(stack)
    .findWarning('*', Match.anyValue())
    .map((w) => String(w.entry.data));
}

describe('a role that no state machine uses', () => {
  test('warns, naming the fix', () => {
    const stack = newStack();
    new NestedWorkflowRole(stack, 'ParentRole', { child: importedChild(stack, 'Child', stateMachineArn('Worker')) });
    // The parent was given no role: aws-cdk-lib makes one of its own.
    new sfn.StateMachine(stack, 'Parent', {
      definitionBody: sfn.DefinitionBody.fromString(oneTask(START, stateMachineArn('Worker'))),
    });
    Annotations.fromStack(stack).hasWarning(
      '/Stack/ParentRole/Resource',
      'No state machine of the app uses this role, so its grants reach no parent (which then gets a role of its own, without what ' +
        'its children need). Pass `role: parentRole.role` to the parent sfn.StateMachine (or `roleArn: parentRole.role.roleArn` ' +
        'to a CfnStateMachine). [ack: cdk-nested-workflow-role:roleNotUsed]',
    );
  });

  test.each(['sfn.StateMachine', 'CfnStateMachine'])('does not warn when a %s uses it', (kind) => {
    const stack = newStack();
    const definitionString = oneTask(START, stateMachineArn('Worker'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Worker')),
    });
    if (kind === 'CfnStateMachine') {
      new sfn.CfnStateMachine(stack, 'Parent', { roleArn: parentRole.role.roleArn, definitionString });
    } else {
      new sfn.StateMachine(stack, 'Parent', {
        role: parentRole.role,
        definitionBody: sfn.DefinitionBody.fromString(definitionString),
      });
    }
    expect(warnings(stack)).toEqual([]);
  });

  test('the warning can be acknowledged by its id', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Worker')),
    });
    CoreAnnotations.of(parentRole).acknowledgeWarning('cdk-nested-workflow-role:roleNotUsed', 'used by another app');
    expect(warnings(stack)).toEqual([]);
  });
});

describe('a state machine that deploys another definition than the role was given', () => {
  test('another file: the error names both files', () => {
    const stack = newStack();
    const other = tempAsl(oneTask(START, stateMachineArn('Other')));
    const subs = substitutions(stack);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: sfn.DefinitionBody.fromFile(PARENT_ASL),
      definitionSubstitutions: subs,
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromFile(other),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      `[Stack/ParentRole] Stack/Parent uses this role, but deploys another definition than the role was given: it deploys the file ${other}; ` +
        `the role was given the file ${PARENT_ASL}. Give the role and the state machine the same \`definitionBody\` and ` +
        '`definitionSubstitutions` (one variable for each, passed to both).',
    );
  });

  test('the same file with another child in its substitutions: the error names the substitution and both values', () => {
    const stack = newStack();
    const definitionBody = sfn.DefinitionBody.fromFile(PARENT_ASL);
    const subs = substitutions(stack);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions: subs });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody,
      definitionSubstitutions: { ...subs, RequestChildArn: stateMachineArn('SomethingElse') },
    });
    expect(() => Template.fromStack(stack)).toThrow(
      `Stack/Parent uses this role, but deploys another definition than the role was given: it deploys the same definition, the file ${PARENT_ASL}, with other substitutions: ` +
        `\`RequestChildArn\` is ${stateMachineArn('SomethingElse')} in the state machine's \`definitionSubstitutions\`, ` +
        `${stateMachineArn('RequestChild')} in the role's.`,
    );
  });

  test("a substitution the role was given and the state machine's lack: the error names it", () => {
    const stack = newStack();
    const definitionBody = sfn.DefinitionBody.fromFile(PARENT_ASL);
    const subs = substitutions(stack);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody, definitionSubstitutions: subs });
    const { RequestChildArn, ...rest } = subs;
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody, definitionSubstitutions: rest });
    expect(() => Template.fromStack(stack)).toThrow(
      `with other substitutions: the state machine's \`definitionSubstitutions\` have no \`RequestChildArn\` (the role's: ${RequestChildArn}).`,
    );
  });

  test('an L1 CfnStateMachine with another DefinitionString, even one that is not JSON', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: sfn.DefinitionBody.fromString(oneTask(START, stateMachineArn('Worker'))),
    });
    new sfn.CfnStateMachine(stack, 'Parent', { roleArn: parentRole.role.roleArn, definitionString: 'StartAt: A' });
    expect(() => Template.fromStack(stack)).toThrow(
      'Stack/Parent uses this role, but deploys another definition than the role was given: it deploys its DefinitionString; ' +
        'the role was given a string (DefinitionBody.fromString).',
    );
  });

  test('the same file read twice, a string of the same text, extra substitutions the role does not need: no error', async () => {
    const stack = newStack();
    const subs = substitutions(stack);
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: sfn.DefinitionBody.fromFile(PARENT_ASL),
      definitionSubstitutions: subs,
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromFile(PARENT_ASL),
      definitionSubstitutions: { ...subs, Unused: 'x' },
    });
    new sfn.StateMachine(stack, 'SameText', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(fs.readFileSync(PARENT_ASL, 'utf-8')),
      definitionSubstitutions: subs,
    });
    expect(await failedProbes(parentPolicies(stack), childProbes(CHILDREN))).toEqual([]);
  });

  test('another chain: the error names both start states', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Worker'));
    const given = new tasks.StepFunctionsStartExecution(stack, 'Given', { stateMachine: child });
    const deployed = new tasks.StepFunctionsStartExecution(stack, 'Deployed', { stateMachine: child });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: sfn.DefinitionBody.fromChainable(given),
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(deployed),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      "it deploys a chain starting at state 'Deployed'; the role was given a chain starting at state 'Given'.",
    );
  });

  test('a chain given to the role, a string deployed', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Worker'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Start child', { stateMachine: child }),
      ),
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(oneTask(START, stateMachineArn('Worker'))),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      "it deploys a string (DefinitionBody.fromString); the role was given a chain starting at state 'Start child'.",
    );
  });

  test('runtimeChildren of the definition given to the role cover the same definition deployed', async () => {
    const stack = newStack();
    const definitionBody = sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'Dispatch',
        States: {
          Dispatch: { Type: 'Task', Resource: START, Parameters: { 'StateMachineArn.$': '$.arn' }, End: true },
        },
      }),
    );
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody,
      runtimeChildren: [{ stateName: 'Dispatch', children: [importedChild(stack, 'A', stateMachineArn('A'))] }],
    });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    expect(
      await failedProbes(
        parentPolicies(stack),
        probesFor({ ...PARENT, name: 'A', pattern: 'REQUEST_RESPONSE' }, PARENT),
      ),
    ).toEqual([]);
  });

  test('a string given to the role, a chain deployed', () => {
    const stack = newStack();
    const child = importedChild(stack, 'Child', stateMachineArn('Worker'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: sfn.DefinitionBody.fromString(oneTask(START, stateMachineArn('Worker'))),
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Start child', { stateMachine: child }),
      ),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      "it deploys a chain starting at state 'Start child'; the role was given a string (DefinitionBody.fromString).",
    );
  });
});

describe('children added by addChild are checked against the definition of the state machine that uses the role', () => {
  test('a child started with .sync:2 but added as REQUEST_RESPONSE: the error names the state, the child and the fix', () => {
    const stack = newStack();
    const job = importedChild(stack, 'Job', stateMachineArn('Job'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    parentRole.addChild(job);
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(oneTask(`${START}.sync:2`, stateMachineArn('Job'), 'Run job')),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      `[Stack/ParentRole] state 'Run job' of Stack/Parent starts ${stateMachineArn('Job')} with ${START}.sync:2 ` +
        '(sfn.IntegrationPattern.RUN_JOB), but this role grants it only REQUEST_RESPONSE or WAIT_FOR_TASK_TOKEN (states:StartExecution): ' +
        'states:DescribeExecution, states:StopExecution, events:PutTargets, events:PutRule, events:DescribeRule would be denied. ' +
        'Pass `integrationPattern: sfn.IntegrationPattern.RUN_JOB` where the child is added (`addChild(child, { integrationPattern })`), ' +
        "or give the role the state machine's definition (`definitionBody` or `addDefinition`) so that it grants what the definition starts.",
    );
  });

  test('a child the role never granted: the error names the state and the child', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Granted', stateMachineArn('Granted')),
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(oneTask(START, stateMachineArn('Forgotten'))),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      `state 'Start child' of Stack/Parent starts ${stateMachineArn('Forgotten')} (${START}), which this role does not grant. ` +
        'Add it with `addChild(child, { integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE })`, or give the role the ' +
        "state machine's definition (`definitionBody` or `addDefinition`) so that it grants every child the definition starts.",
    );
  });

  test('a child added after the state machine was created, with the pattern it is started with: no error, the grants are exact', async () => {
    const stack = newStack();
    const job = inStackChild(stack, 'Job', { stateMachineName: 'Job' });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(oneTask(`${START}.sync:2`, '${JobArn}')),
      definitionSubstitutions: { JobArn: job.stateMachineArn },
    });
    parentRole.addChild(job, { integrationPattern: RUN_JOB });
    expect(
      await failedProbes(parentPolicies(stack), probesFor({ ...PARENT, name: 'Job', pattern: 'RUN_JOB' }, PARENT)),
    ).toEqual([]);
  });

  test('an L1 CfnStateMachine is checked the same way', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Job', stateMachineArn('Job')),
    });
    new sfn.CfnStateMachine(stack, 'Parent', {
      roleArn: parentRole.role.roleArn,
      definition: JSON.parse(oneTask(`${START}.sync`, stateMachineArn('Job'))),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      /state 'Start child' of Stack\/Parent starts .*:stateMachine:Job with arn:aws:states:::states:startExecution\.sync \(sfn\.IntegrationPattern\.RUN_JOB\), but this role grants it only REQUEST_RESPONSE/,
    );
  });

  test('an Express child added as REQUEST_RESPONSE but run with startSyncExecution', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    parentRole.addChild(importedChild(stack, 'Fast', stateMachineArn('Fast')), {
      stateMachineType: sfn.StateMachineType.EXPRESS,
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(
        oneTask('arn:aws:states:::aws-sdk:sfn:startSyncExecution', stateMachineArn('Fast')),
      ),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      'but this role grants it only REQUEST_RESPONSE or WAIT_FOR_TASK_TOKEN (states:StartExecution): states:StartSyncExecution would be denied.',
    );
  });

  test.each<[string, string, RegExp | undefined]>([
    ['the role the child was added with', 'Starter', undefined],
    ['another role', 'Other', /sts:AssumeRole on arn:aws:iam::222222222222:role\/Other would be denied/],
  ])('a cross-account task whose Credentials are %s', (_what, roleName, error) => {
    const stack = newStack();
    const starter = iam.Role.fromRoleArn(stack, 'Starter', `arn:aws:iam::${OTHER_ACCOUNT}:role/Starter`);
    const child = stateMachineArn('Remote', { account: OTHER_ACCOUNT });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    parentRole.addChild(importedChild(stack, 'Remote', child), {
      integrationPattern: RUN_JOB,
      credentials: { role: sfn.TaskRole.fromRole(starter) },
    });
    const definition = JSON.parse(oneTask(`${START}.sync:2`, child));
    definition.States['Start child'].Credentials = { RoleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/${roleName}` };
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
    });
    if (error) {
      expect(() => Template.fromStack(stack)).toThrow(error);
    } else {
      expect(() => Template.fromStack(stack)).not.toThrow();
    }
  });

  test.each<[string, Partial<sfn.CfnStateMachineProps>]>([
    ['an S3 object of your own', { definitionS3Location: { bucket: 'definitions', key: 'parent.asl.json' } }],
    [
      'a DefinitionString built with Fn::Sub',
      { definitionString: Fn.sub(oneTask(START, stateMachineArn('Job${Suffix}')), { Suffix: 'X' }) },
    ],
  ])('a definition that cannot be read at synthesis (%s) is not checked, and grants nothing', (_what, definition) => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Job', stateMachineArn('Job')),
    });
    new sfn.CfnStateMachine(stack, 'Parent', { roleArn: parentRole.role.roleArn, ...definition });
    const empty = new NestedWorkflowRole(stack, 'EmptyRole');
    new sfn.CfnStateMachine(stack, 'Other', { roleArn: empty.role.roleArn, ...definition });
    expect(() => Template.fromStack(stack)).toThrow(
      /^Validation failed with the following errors:\n {2}\[Stack\/EmptyRole\] NestedWorkflowRole has no child state machine: [^\n]*$/,
    );
  });

  test('a state that takes its child at run time: the error asks for the definition and runtimeChildren', () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Job', stateMachineArn('Job')),
    });
    const definition = {
      StartAt: 'Dispatch',
      States: { Dispatch: { Type: 'Task', Resource: START, Parameters: { 'StateMachineArn.$': '$.arn' }, End: true } },
    };
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      `state 'Dispatch' of Stack/Parent takes the ARN of the child it starts at run time ("StateMachineArn.$": "$.arn"), so this role ` +
        "cannot tell which children it must grant. Give the role the state machine's definition (`definitionBody` or `addDefinition`) " +
        "with `runtimeChildren: [{ stateName: 'Dispatch', children: [childA, childB] }]`.",
    );
  });

  test('a chain whose StepFunctionsStartExecution runs the job .sync, a child added as REQUEST_RESPONSE: error and warning', () => {
    const stack = newStack();
    const job = importedChild(stack, 'Job', stateMachineArn('Job'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { child: job });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Run job', { stateMachine: job, integrationPattern: RUN_JOB }),
      ),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      /state 'Run job' of Stack\/Parent starts .*:stateMachine:Job with arn:<partition>:states:::states:startExecution\.sync:2 \(sfn\.IntegrationPattern\.RUN_JOB\), but this role grants it only REQUEST_RESPONSE/,
    );
  });
});

describe('a role given no child and no definition grants what the state machine that uses it starts', () => {
  test('fromFile with substitutions, in whatever order: exact grants, and the Lambda task listed as not granted', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromFile(PARENT_ASL),
      definitionSubstitutions: substitutions(stack),
    });
    expect(await failedProbes(parentPolicies(stack), childProbes(CHILDREN))).toEqual([]);
    expect(warnings(stack)).toEqual([
      expect.stringMatching(/get no grant from it: 'Notify' \(arn:aws:states:::lambda:invoke\)/),
    ]);
  });

  test('an L1 CfnStateMachine with a DefinitionString', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    new sfn.CfnStateMachine(stack, 'Parent', {
      roleArn: parentRole.role.roleArn,
      definitionString: oneTask(`${START}.sync`, '${Job}'),
      definitionSubstitutions: { Job: stateMachineArn('Job') },
    });
    expect(
      await failedProbes(parentPolicies(stack), probesFor({ ...PARENT, name: 'Job', pattern: 'RUN_JOB' }, PARENT)),
    ).toEqual([]);
  });

  test('an L1 Definition object whose child is a CloudFormation intrinsic (which CloudFormation evaluates there)', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    const definition = JSON.parse(oneTask(`${START}.sync`, 'placeholder'));
    definition.States['Start child'].Parameters.StateMachineArn = { 'Fn::ImportValue': 'JobArn' };
    new sfn.CfnStateMachine(stack, 'Parent', { roleArn: parentRole.role.roleArn, definition });
    const template = Template.fromStack(stack).toJSON();
    const [role] = findRoleLogicalIds(template).filter((id) => id.startsWith('ParentRole'));
    const policies = rolePolicies(template, role, { ...PARENT, imports: { JobArn: stateMachineArn('Job') } });
    expect(await failedProbes(policies, probesFor({ ...PARENT, name: 'Job', pattern: 'RUN_JOB' }, PARENT))).toEqual([]);
  });

  test('runtimeChildren apply to the derived definition', async () => {
    const stack = newStack();
    const a = importedChild(stack, 'A', stateMachineArn('A'));
    const b = importedChild(stack, 'B', stateMachineArn('B'));
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      runtimeChildren: [{ stateName: 'Dispatch', children: [a, b] }],
    });
    const definition = {
      StartAt: 'Dispatch',
      States: {
        Dispatch: { Type: 'Task', Resource: `${START}.sync`, Parameters: { 'StateMachineArn.$': '$.arn' }, End: true },
      },
    };
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
    });
    const children: ChildScenario[] = [
      { ...PARENT, name: 'A', pattern: 'RUN_JOB' },
      { ...PARENT, name: 'B', pattern: 'RUN_JOB' },
    ];
    expect(await failedProbes(parentPolicies(stack), childProbes(children))).toEqual([]);
  });

  test('a chain with a CustomState that starts a child and a LambdaInvoke: exact grants, the Lambda grant, no warning', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    const start = new sfn.CustomState(stack, 'Start job', {
      stateJson: { Type: 'Task', Resource: `${START}.sync:2`, Parameters: { StateMachineArn: stateMachineArn('Job') } },
    });
    const notify = new tasks.LambdaInvoke(stack, 'Notify', {
      lambdaFunction: lambda.Function.fromFunctionArn(stack, 'NotifyFunction', FUNCTION_ARN),
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(start.next(notify)),
    });
    const probes: ProbeCase[] = [
      ...probesFor({ ...PARENT, name: 'Job', pattern: 'RUN_JOB' }, PARENT),
      {
        label: 'invoke Notify',
        action: 'lambda:InvokeFunction',
        resource: FUNCTION_ARN,
        expect: 'Allowed',
        needed: true,
      },
    ];
    expect(await failedProbes(parentPolicies(stack), probes)).toEqual([]);
    expect(warnings(stack)).toEqual([]);
  });

  test('a chain whose child is imported from another stack (Fn::ImportValue) is split at deploy time', async () => {
    const stack = newStack();
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    const start = new sfn.CustomState(stack, 'Start job', {
      stateJson: { Type: 'Task', Resource: START, Parameters: { StateMachineArn: Fn.importValue('JobArn') } },
    });
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(start),
    });
    const template = Template.fromStack(stack).toJSON();
    const [role] = findRoleLogicalIds(template).filter((id) => id.startsWith('ParentRole'));
    const policies = rolePolicies(template, role, { ...PARENT, imports: { JobArn: stateMachineArn('Job') } });
    expect(
      await failedProbes(policies, probesFor({ ...PARENT, name: 'Job', pattern: 'REQUEST_RESPONSE' }, PARENT)),
    ).toEqual([]);
  });

  test.each([
    ['a state machine', true],
    ['another resource', false],
  ])(
    'a child in another stack (%s) is derived as addChild would grant it, or not read before prepare',
    (_what, isMachine) => {
      const policies = (derive: boolean) => {
        const app = new App({ context: { 'aws:cdk:disable-creation-stack-traces': true } });
        const env = { account: ACCOUNT, region: REGION };
        const childStack = new Stack(app, 'ChildStack', { env });
        const stack = new Stack(app, 'Stack', { env });
        const child = inStackChild(childStack, 'Child', { stateMachineName: 'Child' });
        const arn = isMachine ? child.stateMachineArn : new sns.Topic(childStack, 'Topic').topicArn;
        const start = new sfn.CustomState(stack, 'Start child', {
          stateJson: { Type: 'Task', Resource: START, Parameters: { StateMachineArn: arn } },
        });
        const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
        if (!derive) parentRole.addChild(child);
        new sfn.StateMachine(stack, 'Parent', {
          role: parentRole.role,
          definitionBody: sfn.DefinitionBody.fromChainable(start),
        });
        return policyDocuments(Template.fromStack(stack));
      };
      if (isMachine) {
        expect(policies(true)).toEqual(policies(false));
      } else {
        // A topic ARN resolves to a bare Ref of the other stack before prepare: not read, so nothing is derived.
        expect(() => policies(true)).toThrow(/\[Stack\/ParentRole\] NestedWorkflowRole has no child state machine/);
      }
    },
  );

  test("a chain of StepFunctionsStartExecution tasks: derived exactly, aws-cdk-lib's own statements left out (no warning)", () => {
    const stack = newStack();
    const job = inStackChild(stack, 'Job', { stateMachineName: 'Job' });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole');
    new sfn.StateMachine(stack, 'Parent', {
      role: parentRole.role,
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Run job', { stateMachine: job, integrationPattern: RUN_JOB }),
      ),
    });
    const logicalId = stack.resolve((job.node.defaultChild as sfn.CfnStateMachine).logicalId);
    expect(warnings(stack)).toEqual([]);
    const template = Template.fromStack(stack);
    // aws-cdk-lib's `execution:<name>*` (no colon) statements never reached the role: it has no DefaultPolicy.
    expect(
      Object.keys(template.findResources('AWS::IAM::Policy')).filter((id) => id.includes('DefaultPolicy')),
    ).toEqual([]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: 'NestedWorkflowPolicy',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: logicalId } },
          {
            Action: ['states:DescribeExecution', 'states:StopExecution'],
            Effect: 'Allow',
            Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Job:*`,
          },
          eventsStatement(),
        ],
      },
    });
  });
});

describe('token children that are not state machines are refused like a literal wrong ARN', () => {
  function fn(stack: Stack): lambda.Function {
    return new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
    });
  }
  const expected = (what: string, got: string) =>
    `${what} must be a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<alias or version>]), got: ${got}`;

  test('a Lambda function ARN in definitionSubstitutions', () => {
    const stack = newStack();
    expect(
      () =>
        new NestedWorkflowRole(stack, 'ParentRole', {
          definitionBody: sfn.DefinitionBody.fromString(oneTask(START, '${ChildArn}')),
          definitionSubstitutions: { ChildArn: fn(stack).functionArn },
        }),
    ).toThrow(
      expected(
        "Stack/ParentRole: the StateMachineArn of state 'Start child'",
        'the Arn of Stack/Fn/Resource (AWS::Lambda::Function) (check: a reference to the ARN of an AWS::StepFunctions::StateMachine, ' +
          'StateMachineAlias or StateMachineVersion). Pass the ARN of a state machine, or of one of its aliases or versions; ' +
          'activities, executions and other resources cannot be started.',
      ),
    );
  });

  test.each<[string, (stack: Stack) => string, string]>([
    ['a Lambda function ARN', (stack) => fn(stack).functionArn, 'the Arn of Stack/Fn/Resource (AWS::Lambda::Function)'],
    [
      'a role',
      (stack) => new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() }).roleArn,
      'the Arn of Stack/R/Resource (AWS::IAM::Role)',
    ],
    [
      'a topic (its Ref)',
      (stack) => new sns.Topic(stack, 'Topic').topicArn,
      'the Ref of Stack/Topic/Resource (AWS::SNS::Topic)',
    ],
    [
      'the name of a state machine',
      (stack) => inStackChild(stack, 'Sm').stateMachineName,
      'the Name of Stack/Sm/Resource (AWS::StepFunctions::StateMachine)',
    ],
  ])('%s imported with fromStateMachineArn', (_what, arn, got) => {
    const stack = newStack();
    const child = sfn.StateMachine.fromStateMachineArn(stack, 'X', arn(stack));
    expect(() => new NestedWorkflowRole(stack, 'ParentRole', { child })).toThrow(
      expected('Stack/ParentRole: `child`', got),
    );
  });

  test('references to state machines, aliases and their ARN attribute are accepted', () => {
    const stack = newStack();
    const machine = inStackChild(stack, 'Sm', { stateMachineName: 'Sm' });
    const cfn = machine.node.defaultChild as sfn.CfnStateMachine;
    const version = new sfn.CfnStateMachineVersion(stack, 'Version', { stateMachineArn: machine.stateMachineArn });
    const alias = new sfn.CfnStateMachineAlias(stack, 'Alias', {
      name: 'PROD',
      routingConfiguration: [{ stateMachineVersionArn: version.attrArn, weight: 100 }],
    });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { child: machine });
    const custom = new CfnResource(stack, 'Lookup', { type: 'Custom::StateMachineLookup' });
    for (const [id, arn] of [
      ['ByCustomResource', custom.getAtt('Arn').toString()],
      ['ByAttr', cfn.attrArn],
      ['ByVersion', version.ref],
      ['ByAlias', alias.attrArn],
    ]) {
      expect(() => parentRole.addChild(sfn.StateMachine.fromStateMachineArn(stack, id, arn))).not.toThrow();
    }
  });
});
