/**
 * Compiles the TypeScript examples of docs/*.md the way `jsii-rosetta extract --strict .jsii` compiles README.md's:
 * rosetta reads examples from an assembly only, so this writes a copy of the assembly whose README is docs/*.md,
 * as a package directory of its own (this package.json, lib/ and the rosetta/ fixtures), and
 * runs rosetta there. The copy lives in a temporary directory (with a node_modules link to this one's) and is removed
 * afterwards: a second `cdk-nested-workflow-role` assembly in the tree would be found by jsii-docgen, and its tablet
 * must not replace the shipped .jsii.tabl.json (the README's and JSDoc's).
 * On a failure, the snippet's line is a line of the joined docs: the table printed first maps it back to its file.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'rosetta-docs-'));
const docs = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .sort();

let markdown = '';
const starts: string[] = [];
for (const doc of docs) {
  starts.push(`docs/${doc} starts at line ${markdown.split('\n').length}`);
  markdown += fs.readFileSync(path.join(ROOT, 'docs', doc), 'utf-8') + '\n';
}
const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf-8'));
// The JSDoc examples are the real extract's; only the docs' examples are compiled here.
fs.writeFileSync(
  path.join(OUT, '.jsii'),
  JSON.stringify({ ...assembly, readme: { markdown }, types: {}, fingerprint: 'docs' }),
);
fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(OUT, 'package.json'));
for (const dir of ['lib', 'rosetta', 'node_modules']) fs.symlinkSync(path.join(ROOT, dir), path.join(OUT, dir));

const count = (markdown.match(/^```ts\b/gm) ?? []).length;
try {
  execFileSync('jsii-rosetta', ['extract', '--strict', path.join(OUT, '.jsii')], { stdio: 'inherit', cwd: ROOT });
} catch (e) {
  console.error(`docs/*.md examples failed to compile; in the joined docs, ${starts.join(', ')}.`);
  process.exitCode = 1;
} finally {
  fs.rmSync(OUT, { recursive: true, force: true });
}
if (process.exitCode) process.exit();
console.log(`docs: ${count} TypeScript examples of ${docs.length} pages compiled (jsii-rosetta, strict)`);
