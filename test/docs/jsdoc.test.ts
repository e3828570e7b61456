import * as fs from 'fs';
import * as path from 'path';

/**
 * The JSDoc of the public API reaches API.md and every binding whole. jsii keeps one `@see` per element (the last)
 * and reads every line after a block tag as part of that tag: a paragraph written after `@see` or `@default` is lost
 * from the docs, and a second `@see` replaces the first. An `@example` may hold blank lines: its code is one block.
 */
const LIB = path.join(__dirname, '..', '..', 'lib');
const PUBLIC_FILES = fs
  .readdirSync(LIB)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => path.join(LIB, f));

interface DocProblem {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
}

/** The problems of the JSDoc comments of one source text. */
function docProblems(file: string, text: string): DocProblem[] {
  const problems: DocProblem[] = [];
  for (const match of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const first = text.slice(0, match.index).split('\n').length;
    const lines = match[1].split('\n').map((l) => l.replace(/^\s*\*?\s?/, ''));
    let tag: string | undefined;
    let sees = 0;
    let blank = false;
    lines.forEach((line, i) => {
      const tagged = /^@(\w+)/.exec(line.trim());
      if (tagged) {
        tag = tagged[1];
        if (tag === 'see') sees++;
        if (sees === 2 && tag === 'see') {
          problems.push({ file, line: first + i, problem: 'a second @see (jsii keeps only the last)' });
        }
      } else if (tag !== undefined && tag !== 'example' && line.trim() !== '' && blank) {
        problems.push({
          file,
          line: first + i,
          problem: `a paragraph after @${tag} (jsii reads it as part of the tag)`,
        });
      }
      blank = line.trim() === '';
    });
  }
  return problems;
}

describe('the JSDoc of the public API', () => {
  test('has at most one @see per element and no paragraph after a block tag', () => {
    const problems = PUBLIC_FILES.flatMap((file) => docProblems(path.basename(file), fs.readFileSync(file, 'utf-8')));
    expect(problems).toEqual([]);
  });

  test('the check finds both mistakes (a paragraph after @see, a second @see)', () => {
    const text = [
      '/**',
      ' * Summary.',
      ' *',
      ' * @see https://example.com/a',
      ' * @see https://example.com/b',
      ' *',
      ' * A paragraph jsii would fold into the @see.',
      ' *',
      ' * @default - none: a continued',
      ' *   default line is fine',
      ' */',
    ].join('\n');
    expect(docProblems('x.ts', text)).toEqual([
      { file: 'x.ts', line: 5, problem: 'a second @see (jsii keeps only the last)' },
      { file: 'x.ts', line: 7, problem: 'a paragraph after @see (jsii reads it as part of the tag)' },
    ]);
  });
});
