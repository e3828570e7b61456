import * as path from 'path';
import { CfnParameter, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as cfninc from 'aws-cdk-lib/cloudformation-include';
import { NestedWorkflowRole } from '../lib';
import { addMixedParents, cleanUp, newCheckedApp, runChecks, summarize } from './util/checks';
import { ACCOUNT, inStackChild, REGION, stateMachineArn } from './util/fixtures';

describe('NestedWorkflowChecks', () => {
  test('on a mixed app: nothing for NestedWorkflowRole, too broad for StepFunctionsStartExecution, missing for the hand-written policy', () => {
    const app = newCheckedApp();
    addMixedParents(app);
    const run = runChecks(app);
    try {
      expect(summarize(run.violations)).toEqual(['NWR1: Stack/HandWrittenParent', 'NWR2: Stack/TaskParent/Resource']);
      expect(run.violations.find((v) => v.ruleName === 'NWR1')!.description).toContain(
        'states:DescribeExecution on arn:aws:states:us-east-1:111111111111:execution:Child:example-execution-id',
      );
      expect(run.violations.find((v) => v.ruleName === 'NWR2')!.description).toContain('execution:ChildAdmin:');
      expect(run.success).toBe(false);
    } finally {
      cleanUp(run);
    }
  });

  test('StepFunctionsStartExecution on an alias: StartExecution on the unqualified ARN with the qualifier is missing', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const alias = sfn.StateMachine.fromStateMachineArn(stack, 'Alias', `${stateMachineArn('Child')}:PROD`);
    new sfn.StateMachine(stack, 'TaskParent', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Run', { stateMachine: alias }),
      ),
    });
    const run = runChecks(app);
    try {
      const missing = run.violations.filter((v) => v.ruleName === 'NWR1');
      expect(summarize(missing)).toEqual(['NWR1: Stack/TaskParent/Resource']);
      expect(missing[0].description).toContain(
        `states:StartExecution on ${stateMachineArn('Child')} with states:StateMachineQualifier=PROD (state 'Run')`,
      );
      expect(missing[0].severity).toBe('error');
      expect(run.success).toBe(false);
    } finally {
      cleanUp(run);
    }
  });

  describe('on the older AWS documentation template, included with CfnInclude', () => {
    const templateFile = path.join(__dirname, 'templates', 'aws-docs-parent.template.json');

    test('in a stack of unknown partition: Resource "*" is too broad, arn:aws is the wrong partition, the events rule depends on the partition', () => {
      const app = newCheckedApp();
      const stack = new Stack(app, 'Stack');
      new cfninc.CfnInclude(stack, 'Included', { templateFile });
      const run = runChecks(app);
      try {
        expect(summarize(run.violations)).toEqual([
          'NWR2: Stack/Included/Parent',
          'NWR3: Stack/Included/Parent',
          'NWR4: Stack/Included/Parent',
        ]);
        const broad = run.violations.find((v) => v.ruleName === 'NWR2')!;
        expect(broad.description).toContain('Resource "*"');
        expect(broad.description).toContain('execution:OrderChildAdmin:example-execution-id');
        expect(run.violations.find((v) => v.ruleName === 'NWR3')!.description).toContain(
          'arn:aws:states:::states:startExecution.sync:2',
        );
        expect(
          run.violations
            .filter((v) => v.ruleName === 'NWR4')
            .map((v) => v.description)
            .join('\n'),
        ).toContain(
          'events:PutRule on arn:⟨Partition⟩:events:⟨Region⟩:⟨AccountId⟩:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
        );
        // Warnings only: synthesis succeeds.
        expect(run.success).toBe(true);
      } finally {
        cleanUp(run);
      }
    });

    test('in a stack of the aws partition: only too broad', () => {
      const app = newCheckedApp();
      const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
      new cfninc.CfnInclude(stack, 'Included', { templateFile });
      const run = runChecks(app);
      try {
        expect(summarize(run.violations)).toEqual(['NWR2: Stack/Included/Parent']);
      } finally {
        cleanUp(run);
      }
    });
  });

  test('NestedWorkflowRole in an environment-agnostic stack, with a child whose name CloudFormation generates: no finding', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack');
    const child = inStackChild(stack, 'Child');
    const definitionBody = sfn.DefinitionBody.fromChainable(
      new tasks.StepFunctionsStartExecution(stack, 'Run', {
        stateMachine: child,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      }),
    );
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody });
    new sfn.StateMachine(stack, 'Parent', { role: parentRole.role, definitionBody });
    const run = runChecks(app);
    try {
      expect(run.violations).toEqual([]);
      expect(run.success).toBe(true);
    } finally {
      cleanUp(run);
    }
  });

  describe('a hand-written parent whose policy is a separate AWS::IAM::Policy', () => {
    function app(dependsOn: boolean) {
      const checked = newCheckedApp();
      const stack = new Stack(checked, 'Stack', { env: { account: ACCOUNT, region: REGION } });
      const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
      const policy = new iam.Policy(stack, 'Grants', {
        statements: [
          new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [child.stateMachineArn] }),
          new iam.PolicyStatement({
            actions: ['states:DescribeExecution', 'states:StopExecution'],
            resources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:Child:*`],
          }),
          new iam.PolicyStatement({
            actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
            resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`],
          }),
        ],
        roles: [role],
      });
      const parent = handWrittenL1(stack, role.roleArn, child.stateMachineArn);
      if (dependsOn) parent.addDependency(policy.node.defaultChild as iam.CfnPolicy);
      return checked;
    }

    test('without DependsOn on the policy holding the events grant: missing', () => {
      const run = runChecks(app(false));
      try {
        expect(summarize(run.violations)).toEqual(['NWR1: Stack/HandWrittenParent']);
        expect(run.violations[0].description).toMatch(/does not depend on Grants\w+, which holds the events grant/);
      } finally {
        cleanUp(run);
      }
    });

    test('with DependsOn: no finding', () => {
      const run = runChecks(app(true));
      try {
        expect(run.violations).toEqual([]);
      } finally {
        cleanUp(run);
      }
    });
  });

  test('what cannot be decided is reported as such: a parameter without Default, a child chosen at run time, an unevaluated condition, a role or managed policy outside the template', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const childArn = new CfnParameter(stack, 'ChildArn').valueAsString;
    handWrittenL1(stack, `arn:aws:iam::${ACCOUNT}:role/Elsewhere`, stateMachineArn('Child'), 'OutsideRole');
    const role = new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AWSStepFunctionsFullAccess')],
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [stateMachineArn('Vpc')],
        conditions: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } },
      }),
    );
    handWrittenL1(stack, role.roleArn, childArn, 'FromParameter');
    handWrittenL1(stack, role.roleArn, stateMachineArn('Vpc'), 'Conditional', 'startExecution');
    handWrittenL1(stack, role.roleArn, stateMachineArn('Managed'), 'ManagedOnly', 'startExecution');
    new sfn.CfnStateMachine(stack, 'RunTime', {
      roleArn: role.roleArn,
      definitionString: JSON.stringify({
        StartAt: 'Start chosen child',
        States: {
          'Start chosen child': {
            Type: 'Task',
            Resource: 'arn:aws:states:::states:startExecution',
            Parameters: { 'StateMachineArn.$': '$.childArn' },
            End: true,
          },
        },
      }),
    });
    const run = runChecks(app);
    try {
      expect(new Set(run.violations.map((v) => v.ruleName))).toEqual(new Set(['NWR4']));
      const text = (id: string) =>
        run.violations
          .filter((v) => v.violatingConstructs.some((c) => c.constructPath === `Stack/${id}`))
          .map((v) => v.description)
          .join('\n');
      expect(text('OutsideRole')).toContain('is not defined in this template');
      expect(text('FromParameter')).toContain('the parameter ChildArn (no Default)');
      expect(text('Conditional')).toContain('a condition on aws:SourceVpc (StringEquals) is not evaluated');
      expect(text('ManagedOnly')).toContain('policy/AWSStepFunctionsFullAccess, whose document is not in the template');
      expect(text('RunTime')).toContain("state 'Start chosen child' chooses its child at run time");
      expect(run.success).toBe(true);
    } finally {
      cleanUp(run);
    }
  });

  test('a finding acknowledged on the parent (or a scope of it) is not reported', () => {
    const app = newCheckedApp();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const child = inStackChild(stack, 'Child', { stateMachineName: 'Child' });
    const parent = new sfn.StateMachine(stack, 'TaskParent', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.StepFunctionsStartExecution(stack, 'Run', {
          stateMachine: child,
          integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        }),
      ),
    });
    Validations.of(parent).acknowledge({ id: 'NWR2', reason: 'Replaced by NestedWorkflowRole in the next release.' });
    const run = runChecks(app);
    try {
      expect(run.violations).toEqual([]);
    } finally {
      cleanUp(run);
    }
  });

  test('an error acknowledged on the app with the plugin prefix is not reported, and synthesis succeeds', () => {
    const app = newCheckedApp();
    addMixedParents(app);
    Validations.of(app).acknowledge({ id: 'NestedWorkflowChecks::NWR1', reason: 'Migrating this quarter.' });
    const run = runChecks(app);
    try {
      expect(summarize(run.violations)).toEqual(['NWR2: Stack/TaskParent/Resource']);
      expect(run.success).toBe(true);
    } finally {
      cleanUp(run);
    }
  });
});

/** An L1 parent with one task starting `childArn` (`.sync:2` unless `resource` says otherwise). */
function handWrittenL1(
  stack: Stack,
  roleArn: string,
  childArn: string,
  id = 'HandWrittenParent',
  resource = 'startExecution.sync:2',
) {
  return new sfn.CfnStateMachine(stack, id, {
    roleArn,
    definitionString: JSON.stringify({
      StartAt: 'Run child',
      States: {
        'Run child': {
          Type: 'Task',
          Resource: `arn:aws:states:::states:${resource}`,
          Parameters: { StateMachineArn: '${ChildArn}' },
          End: true,
        },
      },
    }),
    definitionSubstitutions: { ChildArn: childArn },
  });
}
