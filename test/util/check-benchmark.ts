/**
 * What `npm run bench` measures of the checks (`cdk-nested-workflow-role check`, `NestedWorkflowChecks`): templates
 * built with `NestedWorkflowRole` and the parent state machine using it, `parents` parents of `children` synchronous
 * children each, written to a file and checked with `checkTemplateFile` (what the command line runs).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { parentDefinition } from './benchmark';
import { importedChild, newStack, stateMachineArn } from './fixtures';
import { NestedWorkflowRole } from '../../lib';
import { checkTemplateFile } from '../../lib/private/checks/app';

/** A synthesized template of `parents` parents (`Parent<p>`), each with its own `children` `.sync` children. */
export function checkedTemplate(parents: number, children: number): object {
  const stack = newStack();
  // 200 parents are 600 resources: over CloudFormation's 500, which the checks do not mind.
  stack.node.setContext('@aws-cdk/core:stackResourceLimit', 0);
  for (let p = 0; p < parents; p++) {
    const names = Array.from({ length: children }, (_, i) => (parents === 1 ? `Child${i}` : `P${p}Child${i}`));
    const integrationPattern = sfn.IntegrationPattern.RUN_JOB;
    const imported = names.map((name) => importedChild(stack, `Import${name}`, stateMachineArn(name)));
    const role = new NestedWorkflowRole(stack, `Parent${p}Role`, { child: imported[0], integrationPattern });
    for (const child of imported.slice(1)) role.addChild(child, { integrationPattern });
    new sfn.StateMachine(stack, `Parent${p}`, {
      role: role.role,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(parentDefinition(names))),
    });
  }
  const app = stack.node.root as unknown as { synth(): { getStackArtifact(id: string): { template: object } } };
  return app.synth().getStackArtifact(stack.artifactId).template;
}

export interface CheckTiming {
  readonly parents: number;
  readonly children: number;
  readonly findings: number;
  /** Milliseconds of each run of `checkTemplateFile` (the template read from its file included). */
  readonly milliseconds: number[];
}

/** Times `checkTemplateFile` on the template of `parents` x `children`, `runs` times after one untimed run. */
export function timeCheck(parents: number, children: number, runs: number): CheckTiming {
  const dir = mkdtempSync(join(os.tmpdir(), 'nwr-check-bench-'));
  try {
    const file = join(dir, 'Stack.template.json');
    writeFileSync(file, JSON.stringify(checkedTemplate(parents, children)));
    const env = { partition: 'aws', region: 'us-east-1', account: '111111111111' };
    const findings = checkTemplateFile(file, env).length;
    const milliseconds: number[] = [];
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      checkTemplateFile(file, env);
      milliseconds.push(performance.now() - start);
    }
    return { parents, children, findings, milliseconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
