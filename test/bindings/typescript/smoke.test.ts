import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { badChildMessage, buildSmokeApp } from './app';

/**
 * test/bindings/expected.json is what the Python, Java and Go smoke apps must synthesize (npm run test:bindings).
 * This suite holds it to what the same app synthesizes in TypeScript, on both aws-cdk-lib versions under test.
 */
const expected = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'expected.json'), 'utf-8'));

describe('the bindings smoke app, in TypeScript', () => {
  jest.setTimeout(60_000);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindings-smoke-'));
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  buildSmokeApp(outdir).synth();
  spy.mockRestore();

  test.each(Object.keys(expected.iamResources))(
    'stack %s synthesizes exactly the IAM resources of expected.json',
    (stackName) => {
      const template = JSON.parse(fs.readFileSync(path.join(outdir, `${stackName}.template.json`), 'utf-8'));
      const iam = Object.fromEntries(
        Object.entries<any>(template.Resources)
          .filter(([, r]) => r.Type.startsWith('AWS::IAM::'))
          .map(([id, r]) => [id, { Type: r.Type, Properties: r.Properties }]),
      );
      expect(iam).toEqual(expected.iamResources[stackName]);
    },
  );

  test("the checks plugin's report: success, with the dispatcher's run-time child as NWR4", () => {
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf-8'));
    const summary = report.pluginReports.map((p: any) => ({
      pluginName: p.pluginName,
      conclusion: p.conclusion,
      violations: p.violations.map((v: any) => ({
        ruleName: v.ruleName,
        severity: v.severity,
        constructPaths: v.violatingConstructs.map((c: any) => c.constructPath),
      })),
    }));
    expect(summary).toEqual(expected.validationReport);
  });

  test('an activity ARN as child fails with the message of expected.json', () => {
    expect(badChildMessage()).toBe(expected.badChildMessage);
  });
});
