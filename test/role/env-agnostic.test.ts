import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Annotations as CoreAnnotations, App, ArnFormat, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NestedWorkflowRole, NestedWorkflowTargetRole } from '../../lib';
import { main } from '../../lib/cli';
import {
  ACCOUNT,
  importedChild,
  inStackChild,
  newStack,
  OTHER_ACCOUNT,
  OTHER_REGION,
  PARTITION,
  REGION,
  stateMachineArn,
} from '../util/fixtures';

const ID = 'cdk-nested-workflow-role:childEnvUnchecked';
const { RUN_JOB } = sfn.IntegrationPattern;
const ACK = (scope: string) =>
  `acknowledge this warning: Annotations.of(${scope}).acknowledgeWarning('${ID}', reason).`;
const TAIL =
  ' so synthesis cannot check that the child is where Step Functions can start it (not in another region, nor in another account without task Credentials); ' +
  'the role would then grant calls that never work. Give the stack an `env` (`new Stack(app, id, { env: { account, region } })`) to have it checked, ' +
  `or, if the stack is only deployed there, ${ACK('parentRole')}`;

/** The env-unchecked warnings of the stack, on the parent role's inner role. */
function envWarnings(stack: Stack, role = '/Stack/ParentRole/Resource'): string[] {
  return Annotations.fromStack(stack)
    .findWarning(role, Match.stringLikeRegexp('childEnvUnchecked'))
    .map((w) => String(w.entry.data).replace(/ \[ack: .*\]$/, ''));
}

function definitionStarting(arn: string, extra: object = {}): sfn.DefinitionBody {
  return sfn.DefinitionBody.fromString(
    JSON.stringify({
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync:2',
          Parameters: { StateMachineArn: arn },
          End: true,
          ...extra,
        },
      },
    }),
  );
}

describe('an environment-agnostic stack (no env, as `cdk init` gives)', () => {
  test.each<[string, string, string]>([
    [
      'another region',
      stateMachineArn('Child', { region: OTHER_REGION }),
      `region ${OTHER_REGION} and account ${ACCOUNT}`,
    ],
    [
      'another account',
      stateMachineArn('Child', { account: OTHER_ACCOUNT }),
      `region ${REGION} and account ${OTHER_ACCOUNT}`,
    ],
  ])('a literal child ARN in %s: warned with its own id, naming the child and the fix', (_case, arn, names) => {
    const stack = newStack({ agnostic: true });
    new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', arn),
      integrationPattern: RUN_JOB,
    });
    expect(envWarnings(stack)).toEqual([
      `\`child\` ${arn} names ${names}, but the parent's stack sets no \`env.region\` nor \`env.account\`,${TAIL}`,
    ]);
  });

  test("a definition's child is named with its state", () => {
    const stack = newStack({ agnostic: true });
    const arn = stateMachineArn('Child', { region: OTHER_REGION });
    new NestedWorkflowRole(stack, 'ParentRole', { definitionBody: definitionStarting(arn) });
    expect(envWarnings(stack)).toEqual([
      `The child ${arn} of state 'Run' names region ${OTHER_REGION} and account ${ACCOUNT}, but the parent's stack sets no \`env.region\` nor \`env.account\`,${TAIL}`,
    ]);
  });

  test('a stack with only an account: the region alone is named', () => {
    const stack = newStack({ agnostic: true, props: { env: { account: ACCOUNT } } });
    const arn = stateMachineArn('Child', { region: OTHER_REGION });
    new NestedWorkflowRole(stack, 'ParentRole', { child: importedChild(stack, 'Child', arn) });
    expect(envWarnings(stack)).toEqual([
      `\`child\` ${arn} names region ${OTHER_REGION}, but the parent's stack sets no \`env.region\`,${TAIL}`,
    ]);
  });

  test('a child started through Credentials: its account is not named (it may be another), its region is', () => {
    const stack = newStack({ agnostic: true });
    const arn = stateMachineArn('Child', { account: OTHER_ACCOUNT });
    const roleArn = `arn:${PARTITION}:iam::${OTHER_ACCOUNT}:role/ChildStarter`;
    new NestedWorkflowRole(stack, 'ParentRole', {
      definitionBody: definitionStarting(arn, { Credentials: { RoleArn: roleArn } }),
    });
    expect(envWarnings(stack)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^The child ${arn} of state 'Run' names region ${REGION}, but the parent's stack sets no \`env.region\`,`,
        ),
      ),
    ]);
  });

  test.each<[string, (stack: Stack) => sfn.IStateMachine]>([
    ['a state machine of the app', (stack) => inStackChild(stack, 'Child')],
    ['fromStateMachineName', (stack) => sfn.StateMachine.fromStateMachineName(stack, 'Child', 'Child')],
    [
      'Stack.formatArn',
      (stack) =>
        importedChild(
          stack,
          'Child',
          stack.formatArn({
            service: 'states',
            resource: 'stateMachine',
            resourceName: 'Child',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
    ],
  ])("a child built from the stack's own pseudo parameters (%s): no warning", (_case, child) => {
    const stack = newStack({ agnostic: true });
    new NestedWorkflowRole(stack, 'ParentRole', { child: child(stack), integrationPattern: RUN_JOB });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('childEnvUnchecked'))).toEqual([]);
  });

  test('the warning can be acknowledged on the construct', () => {
    const stack = newStack({ agnostic: true });
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', {
      child: importedChild(stack, 'Child', stateMachineArn('Child', { region: OTHER_REGION })),
    });
    CoreAnnotations.of(parentRole).acknowledgeWarning(ID, 'always deployed to eu-west-1');
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('childEnvUnchecked'))).toEqual([]);
  });

  test("a target role in an agnostic stack is warned with the target role's fix", () => {
    const stack = newStack({ agnostic: true });
    const arn = stateMachineArn('Child', { account: OTHER_ACCOUNT });
    new NestedWorkflowTargetRole(stack, 'Starter', {
      child: importedChild(stack, 'Child', arn),
      parentRole: iam.Role.fromRoleArn(stack, 'ParentRoleRef', `arn:${PARTITION}:iam::${ACCOUNT}:role/ParentRole`),
      parentStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Parent', stateMachineArn('Parent')),
    });
    expect(envWarnings(stack, '/Stack/Starter/Resource')).toEqual([
      `\`child\` ${arn} names region ${REGION} and account ${OTHER_ACCOUNT}, but this role's stack sets no \`env.region\` nor \`env.account\`, ` +
        "so synthesis cannot check that the child is where Step Functions can start it (not in another region, and in this role's account); " +
        'the role would then grant calls that never work. Give the stack an `env` (`new Stack(app, id, { env: { account, region } })`) to have it checked, ' +
        `or, if the stack is only deployed there, ${ACK('targetRole')}`,
    ]);
  });
});

describe('the checks on such a template, when the region and account are given', () => {
  function agnosticTemplate(arn: string): string {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const parentRole = new NestedWorkflowRole(stack, 'ParentRole', { definitionBody: definitionStarting(arn) });
    new sfn.StateMachine(stack, 'Parent', { definitionBody: definitionStarting(arn), role: parentRole.role });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nwr-env-'));
    const file = path.join(dir, 'Stack.template.json');
    fs.writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON()));
    return file;
  }
  function check(file: string, ...env: string[]) {
    let out = '';
    const code = main(['check', file, ...env], { out: (t) => (out += `${t}\n`), err: (t) => (out += `${t}\n`) });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    return {
      code,
      lines: out
        .trim()
        .split('\n')
        .filter((l) => /^(ERROR|WARNING) /.test(l)),
    };
  }

  test.each<[string, string, string]>([
    [
      'another region',
      stateMachineArn('Child', { region: OTHER_REGION }),
      `is in region ${OTHER_REGION}, but the parent is in region ${REGION}, and Step Functions cannot start a state machine in another region. ` +
        "Deploy the child in the parent's region, or the parent in the child's.",
    ],
    [
      'another account without Credentials',
      stateMachineArn('Child', { account: OTHER_ACCOUNT }),
      `is in account ${OTHER_ACCOUNT}, but the parent is in account ${ACCOUNT} and the state has no Credentials. ` +
        'Starting a child in another account needs a role there for the parent to assume: ' +
        '"Credentials": { "RoleArn": "arn:<partition>:iam::<child account>:role/<name>" } (NestedWorkflowTargetRole).',
    ],
  ])('a child in %s is an NWR5 error', (_case, arn, reason) => {
    const file = agnosticTemplate(arn);
    const { code, lines } = check(file, '--region', REGION, '--account', ACCOUNT);
    expect(code).toBe(1);
    expect(lines).toEqual([
      expect.stringMatching(/^ERROR NWR5 .* Parent[0-9A-F]+: The definition cannot run: the child /),
    ]);
    expect(lines[0]).toContain(`the child ${arn} of state 'Run' ${reason}`);
  });

  test('without --region and --account nothing can be compared: no NWR5', () => {
    const { lines } = check(agnosticTemplate(stateMachineArn('Child', { region: OTHER_REGION })));
    expect(lines.filter((l) => l.includes('NWR5'))).toEqual([]);
  });

  test('a child in the given region and account: no finding', () => {
    const { code, lines } = check(agnosticTemplate(stateMachineArn('Child')), '--region', REGION, '--account', ACCOUNT);
    expect([code, lines]).toEqual([0, []]);
  });
});
