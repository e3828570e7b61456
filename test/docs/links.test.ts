import * as fs from 'fs';
import * as path from 'path';

/**
 * Every relative link and #anchor of README.md, CONTRIBUTING.md and docs/*.md resolves: the file exists, and the
 * anchor is a heading of that file under GitHub's slug rules (lower case; punctuation other than - and _ dropped;
 * spaces to -; a repeated slug gets -1, -2, ...). Links inside code blocks and code spans are not links.
 */
const ROOT = path.join(__dirname, '..', '..');
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown outside fenced code blocks, with code spans blanked. */
function prose(markdown: string): string[] {
  let fence = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fence = !fence;
      return '';
    }
    return fence ? '' : line.replace(/(`+)[\s\S]*?\1/g, '');
  });
}

function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const markdown = fs.readFileSync(path.join(ROOT, file), 'utf-8');
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    const heading = !fence && /^#{1,6} (.*)$/.exec(line);
    if (!heading) continue;
    const slug = githubSlug(heading[1].replace(/`/g, ''));
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

function links(file: string): Array<{ line: number; target: string }> {
  const markdown = fs.readFileSync(path.join(ROOT, file), 'utf-8');
  return prose(markdown).flatMap((line, index) =>
    [...line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
      .map((m) => m[1])
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .map((target) => ({ line: index + 1, target })),
  );
}

describe('documentation links', () => {
  test('GitHub anchor slugs', () => {
    expect(githubSlug("Compared with aws-cdk-lib's StepFunctionsStartExecution")).toBe(
      'compared-with-aws-cdk-libs-stepfunctionsstartexecution',
    );
    expect(githubSlug('Without CDK: SAM, Terraform, the console')).toBe('without-cdk-sam-terraform-the-console');
    expect(githubSlug('Proven, not claimed')).toBe('proven-not-claimed');
  });

  test.each(DOCS)('every relative link and anchor of %s resolves', (file) => {
    const broken: string[] = [];
    for (const { line, target } of links(file)) {
      const [filePart, anchor] = target.split('#');
      const resolved = filePart ? path.normalize(path.join(path.dirname(file), filePart)) : file;
      if (!fs.existsSync(path.join(ROOT, resolved))) {
        broken.push(`${file}:${line}: ${target} (no file ${resolved})`);
      } else if (anchor !== undefined && !anchors(resolved).has(anchor)) {
        broken.push(`${file}:${line}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
