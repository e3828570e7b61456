import * as fs from 'fs';
import * as path from 'path';
import { Finding } from './parent-check';
import { RULES } from './rules';
import { escapeRegExp } from '../model/render';

/**
 * The findings as a SARIF 2.1.0 log (what GitHub code scanning reads): the rules NWR1-NWR5 in `tool.driver.rules`,
 * a result per finding with its rule, level and a location naming the template file (relative to `baseDir`), the line
 * of the parent's logical id when found, and the logical id.
 */
export function toSarif(findings: Finding[], version: string, baseDir: string): object {
  const lines = new Map<string, string[]>();
  const lineOf = (file: string, logicalId: string): number | undefined => {
    let text = lines.get(file);
    if (text === undefined) {
      try {
        text = fs.readFileSync(file, 'utf-8').split(/\r?\n/);
      } catch {
        text = [];
      }
      lines.set(file, text);
    }
    // `"Parent": {` (JSON) or `Parent:` (YAML), at the start of a line.
    const key = new RegExp(`^\\s*("${escapeRegExp(logicalId)}"|${escapeRegExp(logicalId)})\\s*:`);
    const index = text.findIndex((line) => key.test(line));
    return index < 0 ? undefined : index + 1;
  };
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'cdk-nested-workflow-role',
            version,
            informationUri: 'https://github.com/cdk-nested-workflow-role/cdk-nested-workflow-role',
            rules: RULES.map((rule) => ({
              id: rule.id,
              name: rule.name,
              shortDescription: { text: rule.info },
              help: { text: rule.fix },
              defaultConfiguration: { level: rule.severity },
            })),
          },
        },
        results: findings.map((finding) => {
          const file = finding.templatePath ?? 'template';
          const line = lineOf(file, finding.parent);
          return {
            ruleId: finding.rule.id,
            ruleIndex: RULES.findIndex((r) => r.id === finding.rule.id),
            level: finding.rule.severity,
            message: { text: `${finding.parent}: ${finding.message}` },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: path.relative(baseDir, file).split(path.sep).join('/') },
                  ...(line === undefined ? {} : { region: { startLine: line } }),
                },
                logicalLocations: [{ name: finding.parent, kind: 'resource' }],
              },
            ],
          };
        }),
      },
    ],
  };
}
