import * as fs from 'fs';
import * as path from 'path';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildExampleApp } from '../examples/app';
import { NestedWorkflowRole } from '../lib';
import { ACCOUNT, executionArn, importedChild, REGION, stateMachineArn } from './util/fixtures';

/**
 * Every jest suite runs twice, on the aws-cdk-lib floor and on the newest release (CONTRIBUTING, "aws-cdk-lib versions
 * under test"). These tests prove which aws-cdk-lib a run loaded, and that the library, the tests, cdk-nag and
 * @aws-cdk/integ-tests-alpha all loaded that same copy (two copies would break instanceof across packages silently).
 */

/** Set per run by the jest configuration (package.json for the floor, jest.aws-cdk-lib-newest.json for the newest). */
const UNDER_TEST: unknown = (globalThis as { AWS_CDK_LIB_UNDER_TEST?: unknown }).AWS_CDK_LIB_UNDER_TEST;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const loaded: string = require('aws-cdk-lib/package.json').version;

const project = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf-8'));

describe(`aws-cdk-lib under test: ${loaded}`, () => {
  test('the run loads the aws-cdk-lib version its jest configuration names', () => {
    expect(typeof UNDER_TEST).toBe('string');
    expect(loaded).toBe(UNDER_TEST);
  });

  test('that version is one of the two pinned in package.json: the floor or the newest release', () => {
    const pins = {
      floor: project.devDependencies['aws-cdk-lib'],
      newest: project.devDependencies['aws-cdk-lib-newest'].replace(/^npm:aws-cdk-lib@/, ''),
    };
    expect(pins.floor).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pins.newest).toMatch(/^\d+\.\d+\.\d+$/);
    expect(`^${pins.floor}`).toBe(project.peerDependencies['aws-cdk-lib']);
    expect([pins.floor, pins.newest]).toContain(loaded);
  });

  test('the library and the tests share one aws-cdk-lib: the role the library creates is an iam.Role of the test', () => {
    const stack = new Stack(new App(), 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child')),
    });
    expect(parentRole.role).toBeInstanceOf(iam.Role);
    expect(stack.node.findAll().filter((c) => c instanceof CfnResource).length).toBeGreaterThan(0);
  });

  test('cdk-nag shares it: its rules recognise the CfnPolicy of a role with a wildcard resource', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionArn('Child', '*')] }),
    );
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    // With a second aws-cdk-lib, cdk-nag's `instanceof aws_iam.CfnPolicy` would be false and find nothing.
    expect(report.violations.map((v) => v.ruleName)).toContain(
      `AwsSolutions-IAM5[Resource::${executionArn('Child', '*')}]`,
    );
  });

  test('@aws-cdk/integ-tests-alpha shares it: its assertion stack is a Stack of the test', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    new sfn.StateMachine(stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')),
    });
    new IntegTest(app, 'Integ', { testCases: [stack] });
    const stacks = app.node.findAll().filter((c): c is Stack => c instanceof Stack);
    expect(stacks.map((s) => s.node.path)).toEqual(['Stack', 'Integ/DefaultTest/DeployAssert']);
  });

  // The newest run turns this validation off for speed (test/util/aws-cdk-lib-newest.setup.ts); here it runs on purpose.
  test("the example app's templates pass aws-cdk-lib's built-in CloudFormation validation (2.274 and later)", () => {
    const [major, minor] = loaded.split('.').map(Number);
    if (major === 2 && minor < 274) {
      // 2.258 has no built-in validation: no plugin runs, no report is written.
      expect(builtInValidationFindings(new App())).toBeUndefined();
      return;
    }
    // A control: the validation is on in this test (an empty stack breaks CloudFormation's rule F0001).
    const control = new App();
    new Stack(control, 'Empty');
    expect(builtInValidationFindings(control)).toEqual(['F0001 on Empty']);
    // THEN the example app (a parent, its NestedWorkflowRole and three children) has no finding.
    expect(builtInValidationFindings(buildExampleApp().app)).toEqual([]);
  });
});

/**
 * Synthesizes `app` with aws-cdk-lib's built-in CloudFormation validation on; its findings as '<rule> on <construct
 * path>', or undefined when no validation report was written.
 */
function builtInValidationFindings(app: App): string[] | undefined {
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'true';
  try {
    const outdir = app.synth().directory;
    const reportFile = path.join(outdir, 'validation-report.json');
    if (!fs.existsSync(reportFile)) return undefined;
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf-8'));
    return report.pluginReports.flatMap((r: any) =>
      r.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} on ${c.constructPath}`)),
    );
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}
