import { awscdk, javascript, JsonFile, ReleasableCommits } from 'projen';

// The aws-cdk-lib versions every jest suite runs against (see CONTRIBUTING, "aws-cdk-lib versions under test").
// The floor is the lowest version users may install (the peer dependency) and the devDependency everything else builds
// with; the newest is the latest aws-cdk-lib release, which `cdk init` apps get, installed under an npm alias.
const CDK_FLOOR_VERSION = '2.258.0';
const CDK_NEWEST_VERSION = '2.278.0';
const CDK_NEWEST_ALIAS = 'aws-cdk-lib-newest';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-nested-workflow-role',
  description:
    'Least-privilege IAM roles for AWS Step Functions parents that start nested (child) workflows: exact grants per integration pattern, alias/version and cross-partition aware, proven with an IAM simulator.',
  author: 'cdk-nested-workflow-role maintainers',
  authorAddress: 'maintainers@cdk-nested-workflow-role.dev',
  repositoryUrl: 'https://github.com/cdk-nested-workflow-role/cdk-nested-workflow-role.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  // aws-cdk-lib floor: 2.258.0 is the first release whose policy-validation plugin API
  // cdk-nag 3 runs on; the tests run against exactly this version (devDependency pin).
  cdkVersion: CDK_FLOOR_VERSION,
  constructsVersion: '10.5.1',
  cdkCliVersion: '^2.1148.1',
  // TypeScript 7 has no compiler API (breaks jsii and ts-jest): stay on 6.0.
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  // Users: jsii 6 (and so the library's other-language runtimes) supports Node >= 20.16.0, and nothing in the library
  // needs more. Builds: @typescript-eslint 8.56+ (the first to support TypeScript 6) depends on eslint-visitor-keys 5,
  // which requires Node ^20.19 || ^22.13 || >= 24, so `npm ci` warns EBADENGINE on 20.16-20.18: CI builds on 20.19.
  minNodeVersion: '20.16.0',
  workflowNodeVersion: '20.19.0',

  srcdir: 'lib',
  libdir: 'lib',
  testdir: 'test',

  // Construct Hub lists a package by its `awscdk` keyword; the others are what people search for.
  keywords: [
    'cdk',
    'awscdk',
    'aws-cdk',
    'step-functions',
    'stepfunctions',
    'nested-workflows',
    'iam',
    'least-privilege',
  ],
  stability: 'experimental',

  eslintOptions: {
    dirs: ['lib'],
    devdirs: ['test', 'examples', 'scripts', 'projenrc', '.projenrc.ts'],
  },
  prettier: true,
  prettierOptions: {
    settings: { singleQuote: true, printWidth: 120, trailingComma: javascript.TrailingComma.ALL },
  },

  devDeps: [
    '@cloud-copilot/iam-simulate@^0.1.173',
    'cdk-nag@^3.0.2',
    // Deploy-time assertions of test/nested-workflow.integ.ts. 2.245.0-alpha.0 is the newest release on the
    // registry (none was published for 2.258.0); its peer range ^2.245.0 covers our aws-cdk-lib floor.
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    // The newest aws-cdk-lib release, for the second jest run (jest.aws-cdk-lib-newest.json maps aws-cdk-lib to it).
    `${CDK_NEWEST_ALIAS}@npm:aws-cdk-lib@${CDK_NEWEST_VERSION}`,
    // Property-based tests (test/proofs/properties.test.ts): seeded, bounded runs over random children, definitions and inputs.
    'fast-check@^4.10.2',
    // Validates the command line's SARIF output against the SARIF 2.1.0 schema (test/fixtures/sarif-schema-2.1.0.json).
    'ajv@^8.20.0',
    // The SARIF 2.1.0 schema is draft-04 JSON Schema: Ajv's class for that draft.
    'ajv-draft-04@^1.0.0',
    'ajv-formats@^3.0.1',
  ],
  // The one runtime dependency: `check` reads YAML templates (SAM, CloudFormation) with their short-form tags
  // (!Sub, !GetAtt, ...). Bundled into the package (jsii's bundledDependencies), so that it is no peer of users' apps.
  bundledDeps: ['yaml@^2.9.1'],
  // projen's default commit-and-tag-version 13 (and its conventional-changelog 8 dependencies) require Node >= 22:
  // 12 bumps versions the same way and supports Node >= 18, so `npm ci` on Node 20 prints no EBADENGINE warning.
  bumpPackage: 'commit-and-tag-version@^12',

  typecheckTests: true,
  jestOptions: {
    jestConfig: {
      // Sources compile in place: resolve lib/*.ts before any stale lib/*.js.
      moduleFileExtensions: ['ts', 'js', 'json', 'node'],
      coverageThreshold: {
        lines: 95,
        branches: 95,
        statements: 95,
        functions: 95,
      },
      coveragePathIgnorePatterns: ['/node_modules/', '/test/'],
      // Read by test/aws-cdk-lib-version.test.ts: the aws-cdk-lib version this run must load.
      globals: { AWS_CDK_LIB_UNDER_TEST: CDK_FLOOR_VERSION },
      displayName: `aws-cdk-lib ${CDK_FLOOR_VERSION}`,
    },
  },

  // Conventional commits: feat and fix commits cut a release (docs, test, build, ci and chore do not); pull request
  // titles (the squash-merge commit) may use every type this history uses.
  releasableCommits: ReleasableCommits.featuresAndFixes(),
  githubOptions: {
    pullRequestLintOptions: {
      semanticTitleOptions: { types: ['feat', 'fix', 'docs', 'test', 'build', 'ci', 'refactor', 'perf', 'chore'] },
    },
  },

  // The GitHub build runs what .ci/run runs: the build, then the example app (the release workflow too).
  postBuildSteps: [{ name: 'Example app', run: 'npx projen example' }],

  publishToPypi: {
    distName: 'cdk-nested-workflow-role',
    module: 'cdk_nested_workflow_role',
  },
  publishToMaven: {
    javaPackage: 'dev.cdknestedworkflowrole',
    mavenGroupId: 'dev.cdk-nested-workflow-role',
    mavenArtifactId: 'cdk-nested-workflow-role',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkNestedWorkflowRole',
    packageId: 'CdkNestedWorkflowRole',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-nested-workflow-role/cdk-nested-workflow-role-go',
  },
});

// The command line (lib/cli.ts, compiled with the library: not exported, so outside the jsii API): prints the exact
// policy for users outside CDK and runs the checks on CloudFormation templates.
project.addBins({ 'cdk-nested-workflow-role': 'lib/cli.js' });

// Sources live beside their compiled output in lib/: track the .ts sources, ignore the output.
project.gitignore.removePatterns('/lib');
project.gitignore.include('/lib/**/*.ts');
project.gitignore.exclude('/lib/**/*.js', '/lib/**/*.d.ts', '/lib/**/*.d.ts.map', 'cdk.out', '/.jsii.tabl.json');
// Ship compiled JavaScript and declarations only, never the TypeScript sources.
project.npmignore?.exclude('/lib/**/*.ts', '/examples/', '/docs/', '/scripts/', '/.ci/', '/CONTRIBUTING.md');
project.npmignore?.include('/lib/**/*.d.ts');

// examples/ and scripts/ are type-checked and linted like the tests (each folder needs a tsconfig the
// eslint project service can find).
for (const dir of ['examples', 'scripts']) {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    obj: {
      extends: '../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '..' },
      include: ['**/*.ts', '../lib/**/*.ts', '../test/util/**/*.ts'],
      exclude: ['node_modules'],
    },
  });
  project.testTask.prependExec(`tsc --noEmit -p ${dir}/tsconfig.json`, { name: `Type-check ${dir}` });
}

const tsNode = (dir: string, file: string) => `ts-node --project ${dir}/tsconfig.json ${dir}/${file}`;
project.addTask('example', {
  description: 'Synthesize the example app offline and print the parent role policies',
  env: { CDK_DISABLE_CLI_TELEMETRY: 'true' },
  exec: tsNode('examples', 'print-policy.ts'),
});
project.addTask('compare', {
  description: 'Simulate the probes on aws-cdk-lib StepFunctionsStartExecution and on NestedWorkflowRole, side by side',
  exec: tsNode('scripts', 'compare.ts'),
});
project.addTask('bench', {
  description:
    'Policy size, IAM quotas and synthesis time of NestedWorkflowRole and aws-cdk-lib StepFunctionsStartExecution for 1 to 500 children; writes docs/benchmarks.md',
  env: { CDK_DISABLE_CLI_TELEMETRY: 'true' },
  exec: tsNode('scripts', 'bench.ts'),
});

// jsii's Node 20 end-of-life banner is noise in every build log.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');

// Every README and JSDoc example must compile: strict in the assembly (what Construct Hub reads) and on the command
// line. Fixtures in rosetta/ give the examples their imports and scope. The tablet it writes (.jsii.tabl.json) ships
// in the npm package, so that pacmak translates the examples here and in the release workflow.
project.package.file.addOverride('jsii.metadata', { jsii: { rosetta: { strict: true } } });
// Construct Hub and PyPI: the Trove classifiers of CDK constructs (jsii-pacmak adds them to the package's own).
project.package.file.addOverride('jsii.targets.python.classifiers', [
  'Framework :: AWS CDK',
  'Framework :: AWS CDK :: 2',
]);
const rosetta = project.addTask('rosetta:extract', {
  description:
    'Compile every README, docs/*.md and JSDoc example (jsii-rosetta, strict) and translate it into each language',
  steps: [
    { exec: 'jsii-rosetta extract --strict .jsii' },
    // rosetta reads examples from assemblies only: docs/*.md are compiled through a copy of the assembly.
    { exec: tsNode('scripts', 'rosetta-docs.ts') },
  ],
});
// The README's and docs' Python and Java blocks are regions of the smoke apps (test/docs/snippets.test.ts checks them).
project.addTask('docs:snippets', {
  description: "Rewrite the Python and Java blocks of README.md and docs/*.md from the smoke apps' README regions",
  exec: tsNode('scripts', 'snippets.ts'),
});

// Every jest suite runs twice: on the floor (above, with the coverage minimum), then on the newest aws-cdk-lib. The
// second configuration is the first one with aws-cdk-lib mapped to the alias package: the mapping applies to every
// module jest loads (the library, the tests, cdk-nag, @aws-cdk/integ-tests-alpha), so a run holds one aws-cdk-lib
// and instanceof checks across packages hold. A new test file is picked up by both runs with no change here.
const jestConfig = project.jest!.config;
const newestJestConfig = new JsonFile(project, `jest.${CDK_NEWEST_ALIAS}.json`, {
  obj: () => ({
    ...jestConfig,
    displayName: `aws-cdk-lib ${CDK_NEWEST_VERSION}`,
    globals: { ...jestConfig.globals, AWS_CDK_LIB_UNDER_TEST: CDK_NEWEST_VERSION },
    moduleNameMapper: {
      ...jestConfig.moduleNameMapper,
      '^aws-cdk-lib$': `<rootDir>/node_modules/${CDK_NEWEST_ALIAS}`,
      '^aws-cdk-lib/(.*)$': `<rootDir>/node_modules/${CDK_NEWEST_ALIAS}/$1`,
    },
    // Coverage is measured and enforced on the floor run.
    collectCoverage: false,
    // Turns off aws-cdk-lib's built-in CloudFormation validation (2.274+) but in the test that runs it on purpose.
    setupFiles: [...(jestConfig.setupFiles ?? []), '<rootDir>/test/util/aws-cdk-lib-newest.setup.ts'],
    // The first synthesis of a test file loads more of aws-cdk-lib than on the floor: room for 2 busy cores.
    testTimeout: 30_000,
    coverageThreshold: undefined,
    reporters: [
      'default',
      ['jest-junit', { outputDirectory: 'test-reports', outputName: `junit-${CDK_NEWEST_ALIAS}.xml` }],
    ],
  }),
});
project.npmignore?.exclude(`/${newestJestConfig.path}`);
const testNewest = project.addTask(`test:${CDK_NEWEST_ALIAS}`, {
  description: `Run every jest suite against aws-cdk-lib ${CDK_NEWEST_VERSION} (the test task runs it after the floor run)`,
  exec: `jest --passWithNoTests -c ${newestJestConfig.path}`,
  receiveArgs: true,
});
{
  // Right after the floor run (before eslint and the integration snapshot), so a failure names its version early.
  const steps = project.testTask.steps;
  const floorRun = steps.findIndex((step) => step.execArgs?.[0] === 'jest' || step.exec?.startsWith('jest '));
  project.testTask.insertStep(floorRun + 1, { spawn: testNewest.name });
}

// .NET has no toolchain on the build machines: its binding is generated (code only), so that an API jsii cannot render
// in C# fails the build here; the release workflow builds the package (package:dotnet).
const bindings = project.addTask('bindings', {
  description: 'Generate the .NET binding, code only, into dist/bindings/dotnet',
  steps: [
    { exec: 'rm -rf dist/bindings/dotnet' },
    {
      exec: 'jsii-pacmak --code-only --force --no-npmignore --rosetta-unknown-snippets fail --target dotnet --outdir dist/bindings',
    },
  ],
});
// Python, Java and Go: built with jsii-pacmak, installed with aws-cdk-lib and constructs from each language's registry
// (the floor run's versions), and run by a smoke app per language that checks what it synthesizes
// (test/bindings/run.sh, test/bindings/expected.json).
const testBindings = project.addTask('test:bindings', {
  description: `Build the Python, Java and Go packages and run their smoke apps against aws-cdk-lib ${CDK_FLOOR_VERSION}`,
  exec: 'bash test/bindings/run.sh',
});
project.gitignore.exclude('/test/bindings/python/.venv', '/test/bindings/java/target');
project.postCompileTask.spawn(rosetta);
project.postCompileTask.spawn(bindings);
project.postCompileTask.spawn(testBindings);

// Packaging for Python/Java/.NET/Go needs registries this build cannot reach: the local build
// packages JavaScript only; the release workflow packages every language.
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package:js')!);

project.synth();
