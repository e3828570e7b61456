/**
 * Runs `NestedWorkflowChecks` on an app and reads its report, on aws-cdk-lib versions that write the report and set
 * `process.exitCode` (2.258) and on those that throw when a plugin reports errors (newer ones): the report file is
 * written before either.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import { NestedWorkflowChecks } from '../../lib';

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
  return violations
    .flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName}: ${c.constructPath}`))
    .sort();
}

export function cleanUp(run: CheckRun): void {
  fs.rmSync(run.outdir, { recursive: true, force: true });
}
