/**
 * The Python and Java blocks of README.md and docs/*.md are copies of regions of the smoke apps in test/bindings/,
 * which npm run test:bindings runs: a block follows a marker `<!-- snippet: <file>#<name> -->`, and the region is the
 * lines between `# README:<name>` (or `// README:<name>`) and `README:end` in that file, dedented.
 * test/docs/snippets.test.ts checks every block; `npx projen docs:snippets` rewrites them from the apps.
 */
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..');

export const DOCUMENTS = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

const MARKED_BLOCK = /<!-- snippet: ([^#\s]+)#([\w-]+) -->\n```(\w+)\n([\s\S]*?)```\n/g;

export interface SnippetBlock {
  readonly document: string;
  readonly file: string;
  readonly name: string;
  readonly language: string;
  readonly text: string;
}

/** The marked blocks of a document. */
export function markedBlocks(document: string): SnippetBlock[] {
  const markdown = fs.readFileSync(path.join(ROOT, document), 'utf-8');
  return [...markdown.matchAll(MARKED_BLOCK)].map((m) => ({
    document,
    file: m[1],
    name: m[2],
    language: m[3],
    text: m[4],
  }));
}

/** How many ```python and ```java blocks a document has, marked or not. */
export function bindingBlockCount(document: string): number {
  const markdown = fs.readFileSync(path.join(ROOT, document), 'utf-8');
  return [...markdown.matchAll(/^```(python|java)$/gm)].length;
}

/** The region `name` of a smoke app, dedented, with a final newline. */
export function region(file: string, name: string): string {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf-8').split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\s*(#|//) README:${name}$`).test(l));
  if (start < 0) throw new Error(`${file} has no region README:${name}`);
  const end = lines.findIndex((l, i) => i > start && /^\s*(#|\/\/) README:end$/.test(l));
  if (end < 0) throw new Error(`${file}: region README:${name} has no README:end`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return body.map((l) => l.slice(indent)).join('\n') + '\n';
}

/** Rewrites every marked block of the documents from its region. */
export function writeSnippets(): void {
  for (const document of DOCUMENTS) {
    const file = path.join(ROOT, document);
    const markdown = fs.readFileSync(file, 'utf-8');
    const updated = markdown.replace(
      MARKED_BLOCK,
      (_all, source: string, name: string, language: string) =>
        `<!-- snippet: ${source}#${name} -->\n\`\`\`${language}\n${region(source, name)}\`\`\`\n`,
    );
    if (updated !== markdown) fs.writeFileSync(file, updated);
  }
}

if (require.main === module) {
  writeSnippets();
}
