import { bindingBlockCount, DOCUMENTS, markedBlocks, region } from '../../scripts/snippets';

/**
 * The README's and docs' Python and Java blocks are the code the smoke apps of test/bindings run (npm run
 * test:bindings): each block is marked with the region it copies, and is that region's text.
 * `npx projen docs:snippets` rewrites them after a change to a smoke app.
 */
describe('Python and Java snippets of README.md and docs/', () => {
  test.each(DOCUMENTS)(
    'every Python and Java block of %s is marked with the smoke-app region it copies',
    (document) => {
      expect(markedBlocks(document).length).toBe(bindingBlockCount(document));
    },
  );

  const blocks = DOCUMENTS.flatMap(markedBlocks);
  test.each(blocks.map((b) => [`${b.document}: ${b.file}#${b.name}`, b] as const))(
    '%s is the region',
    (_name, block) => {
      expect(block.text).toBe(region(block.file, block.name));
    },
  );

  test('the README shows Python and Java', () => {
    const languages = new Set(markedBlocks('README.md').map((b) => b.language));
    expect([...languages].sort()).toEqual(['java', 'python']);
  });
});
