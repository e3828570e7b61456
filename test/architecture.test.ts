import * as fs from 'fs';
import * as path from 'path';

/**
 * The engine's layout is its architecture (CONTRIBUTING, "Architecture"): these tests keep the stage boundaries that
 * a reviewer would otherwise have to check by hand.
 */

const PRIVATE = path.join(__dirname, '..', 'lib', 'private');

/** Every TypeScript source under `dir`, relative to lib/private. */
function sources(dir = PRIVATE): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path.relative(PRIVATE, full)] : [];
  });
}

/** The modules a source imports (`from '...'`), as written. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(PRIVATE, file), 'utf-8');
  return [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
}

/** The names a source imports from `module`. */
function namesFrom(file: string, module: string): string[] {
  const text = fs.readFileSync(path.join(PRIVATE, file), 'utf-8');
  const escaped = module.replace(/[/.-]/g, (c) => `\\${c}`);
  return [...text.matchAll(new RegExp(`import (?:type )?\\{([^}]*)\\} from '${escaped}'`, 'g'))].flatMap((m) =>
    m[1]
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
}

/** Where an import of `file` lands, relative to lib/private (undefined for a package). */
function target(file: string, module: string): string | undefined {
  if (!module.startsWith('.')) return undefined;
  return path.relative(PRIVATE, path.resolve(path.dirname(path.join(PRIVATE, file)), module));
}

describe('the stage folders of lib/private', () => {
  test('every source lives in a stage folder: model, read, role or checks', () => {
    const top = fs.readdirSync(PRIVATE, { withFileTypes: true });
    expect(top.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => e.name)).toEqual([]);
    expect(
      top
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort(),
    ).toEqual(['checks', 'model', 'read', 'role']);
  });

  test('model/ imports no constructs and nothing that builds one: only tokens, ARN helpers and enums of aws-cdk-lib', () => {
    const allowed: { [module: string]: string[] } = {
      'aws-cdk-lib': ['Aws', 'Fn', 'Token'],
      'aws-cdk-lib/region-info': ['RegionInfo'],
      'aws-cdk-lib/aws-stepfunctions': ['IntegrationPattern'],
    };
    const problems: string[] = [];
    for (const file of sources().filter((f) => f.startsWith('model/'))) {
      for (const module of importsOf(file)) {
        const into = target(file, module);
        if (into !== undefined) {
          if (!into.startsWith('model/')) problems.push(`${file} imports ${module}`);
          continue;
        }
        if (!(module in allowed)) {
          // `import * as sfn` is allowed for types of the stepfunctions module only (tasks.ts).
          if (!(module === 'aws-cdk-lib/aws-stepfunctions' && file === 'model/tasks.ts')) {
            problems.push(`${file} imports ${module}`);
          }
          continue;
        }
        for (const name of namesFrom(file, module)) {
          if (!allowed[module].includes(name)) problems.push(`${file} imports ${name} from ${module}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('read/ and model/ never import role/ or checks/; checks/ never imports role/', () => {
    const problems: string[] = [];
    for (const file of sources()) {
      const stage = file.split(path.sep)[0];
      const forbidden = {
        model: ['read', 'role', 'checks'],
        read: ['role', 'checks'],
        checks: ['role'],
        role: ['checks'],
      }[stage]!;
      for (const module of importsOf(file)) {
        const into = target(file, module)?.split(path.sep)[0];
        if (into !== undefined && forbidden.includes(into)) problems.push(`${file} imports ${module}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('aspects and validations are registered in role/lifecycle.ts only', () => {
    const lib = path.join(__dirname, '..', 'lib');
    const all = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        return e.isDirectory() ? all(full) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
      });
    const registering = all(lib).filter((file) =>
      /Aspects\.of\(|\.addValidation\(/.test(fs.readFileSync(file, 'utf-8')),
    );
    expect(registering.map((file) => path.relative(lib, file))).toEqual([path.join('private', 'role', 'lifecycle.ts')]);
  });

  test("aws-cdk-lib's non-public members are touched in read/chain.ts only", () => {
    const internals = /taskPolicies|\b_branches\b|\.iteration\b|processorMode|mapExecutionType/;
    const touching = sources().filter((file) => internals.test(fs.readFileSync(path.join(PRIVATE, file), 'utf-8')));
    expect(touching).toEqual([path.join('read', 'chain.ts')]);
  });
});
