/**
 * `npx projen compare`: simulates the probe table (test/util/probes.ts) on aws-cdk-lib's own
 * `StepFunctionsStartExecution` task and on `NestedWorkflowRole`, for the same children, and prints a Markdown report
 * to stdout (deterministic: no timings, no paths).
 */
import {
  ComparedProbe,
  compareAll,
  childArn,
  finding,
  overGrants,
  PARENT,
  ScenarioResult,
  Side,
  SideResult,
  SIDES,
  underGrants,
  Verdict,
} from '../test/util/compare';

const SIDE_NAMES: { [side in Side]: string } = {
  awsCdkLib: 'aws-cdk-lib StepFunctionsStartExecution',
  nestedWorkflowRole: 'NestedWorkflowRole',
};

function cell(probe: ComparedProbe, side: Side): string {
  const verdict: Verdict | undefined = probe[side];
  if (verdict === undefined) return 'refused at synthesis';
  const found = finding(probe.probe, verdict);
  return found === 'ok' ? verdict : `${verdict} (${found})`;
}

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `characters (statements)` for the summary. */
function size(side: SideResult): string {
  if (side.refused) return 'refused at synthesis';
  return side.measure ? `${side.measure.characters} (${plural(side.measure.statements, 'statement')})` : 'n/a';
}

function count(result: ScenarioResult, side: Side, of: typeof overGrants): string {
  return result[side].refused ? 'refused at synthesis' : String(of(result, side).length);
}

function scenarioSection(result: ScenarioResult, index: number): string[] {
  const { scenario } = result;
  const several = scenario.children.length > 1;
  const lines = [`## ${index + 1}. ${scenario.title}`, ''];
  for (const child of scenario.children) {
    lines.push(`- child \`${childArn(child)}\`, integration pattern \`${child.pattern}\``);
  }
  lines.push('');
  lines.push(
    ...table(
      ['probe', 'needed?', 'expected', SIDE_NAMES.awsCdkLib, SIDE_NAMES.nestedWorkflowRole],
      result.probes.map((p) => [
        several ? `${p.child}: ${p.probe.label}` : p.probe.label,
        p.probe.needed ? 'yes' : 'no',
        p.probe.expect,
        cell(p, 'awsCdkLib'),
        cell(p, 'nestedWorkflowRole'),
      ]),
    ),
  );
  lines.push('');
  if (result.skipped.length > 0) {
    lines.push('Near misses left out, because in this scenario they are the very request of a needed call:', '');
    for (const s of result.skipped) {
      lines.push(`- ${several ? `${s.child}: ` : ''}${s.probe.label} (same request as "${s.sameAs}")`);
    }
    lines.push('');
  }
  for (const side of SIDES) {
    const { refused, measure } = result[side];
    if (refused) {
      lines.push(`${SIDE_NAMES[side]}: refused at synthesis: ${refused}`, '');
    } else if (measure) {
      const { characters, statements, documents } = measure;
      lines.push(
        `${SIDE_NAMES[side]} grants: ${plural(characters, 'character')}, ${plural(statements, 'statement')} ` +
          `in ${plural(documents, 'policy document')}:`,
        '',
      );
      lines.push(...measure.grants.map((grant) => `- \`${grant}\``), '');
    }
  }
  return lines;
}

function summary(results: readonly ScenarioResult[]): string[] {
  return [
    '## Summary',
    '',
    ...table(
      [
        'scenario',
        'aws-cdk-lib over-grants',
        'aws-cdk-lib under-grants',
        'NestedWorkflowRole over-grants',
        'NestedWorkflowRole under-grants',
        'aws-cdk-lib policy characters (statements)',
        'NestedWorkflowRole policy characters (statements)',
      ],
      results.map((r, i) => [
        `${i + 1}. ${r.scenario.title}`,
        count(r, 'awsCdkLib', overGrants),
        count(r, 'awsCdkLib', underGrants),
        count(r, 'nestedWorkflowRole', overGrants),
        count(r, 'nestedWorkflowRole', underGrants),
        size(r.awsCdkLib),
        size(r.nestedWorkflowRole),
      ]),
    ),
  ];
}

async function main(): Promise<void> {
  const results = await compareAll();
  const lines = [
    '# aws-cdk-lib `StepFunctionsStartExecution` vs `NestedWorkflowRole`',
    '',
    'Every call Step Functions makes for a nested workflow (needed, expected Allowed) and near misses (expected Denied), ' +
      'from the probe table `test/util/probes.ts`, simulated with `@cloud-copilot/iam-simulate` on the policies of ' +
      '(a) the role aws-cdk-lib creates for a parent `sfn.StateMachine` whose tasks are `StepFunctionsStartExecution`, ' +
      '(b) a `NestedWorkflowRole` with the same children and patterns. ' +
      `Both parents are in partition \`${PARENT.partition}\`, region \`${PARENT.region}\`, account \`${PARENT.account}\`.`,
    '',
    'An over-grant is a near miss that is Allowed; an under-grant is a needed call that is Denied (the workflow breaks). ' +
      "The simulation evaluates the role's own (identity) policies: for a child in another account it says what the " +
      'role allows, not whether the other account accepts the call. Policy characters are those of the resolved policy ' +
      'documents attached to the role, without white space, summed over the documents (what IAM counts).',
    '',
    ...results.flatMap(scenarioSection),
    ...summary(results),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
