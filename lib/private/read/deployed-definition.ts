import { AssetStaging, Aws, CfnElement, Stack, Token } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { IConstruct } from 'constructs';
import { RoleUser } from './role-users';
import { isIntrinsic } from '../model/json';

/**
 * The deployed-definition reader: what a state machine of the app deploys (a string, a rendered chain, an L1
 * `Definition` object or `DefinitionString`, a file asset), as a body the definition reader takes.
 */

/** The definition a state machine that uses the role deploys, as far as it can be read at synthesis. */
export interface DeployedDefinition {
  readonly user: RoleUser;
  /** The definition as a body the reader takes; undefined when it cannot be read (an S3 object of your own). */
  readonly body?: sfn.DefinitionBody;
  readonly substitutions: { [key: string]: string };
  /** True for a definition aws-cdk-lib rendered from a chain of states (`DefinitionBody.fromChainable`). */
  readonly rendered: boolean;
  /** The definition file, for `DefinitionBody.fromFile`. */
  readonly file?: string;
  /** The definition text, for a string or a rendered chain. */
  readonly text?: string;
}

/** What a state machine that uses the role deploys. */
export function deployedDefinition(user: RoleUser): DeployedDefinition {
  const cfn = user.resource;
  const substitutions = substitutionsOf(cfn);
  const none: DeployedDefinition = { user, substitutions, rendered: false };
  if (cfn.definitionString !== undefined) {
    const raw = cfn.definitionString;
    // aws-cdk-lib renders a chain as one token (`Stack.toJsonString`); a string body is kept as it was given.
    const rendered = user.stateMachine !== undefined && isOneToken(raw);
    const text = isOneToken(raw) ? textOf(cfn, raw) : raw;
    if (text === undefined) return none;
    return { user, substitutions, rendered, text, body: sfn.DefinitionBody.fromString(text) };
  }
  if (cfn.definition !== undefined && !Token.isUnresolved(cfn.definition)) {
    const text = JSON.stringify(tokenizeIntrinsics(cfn.definition));
    return { user, substitutions, rendered: false, text, body: sfn.DefinitionBody.fromString(text) };
  }
  // `DefinitionBody.fromFile`: an asset of the state machine.
  const asset = user.stateMachine?.node.tryFindChild('DefinitionBody');
  const staging = asset instanceof s3assets.Asset ? asset.node.tryFindChild('Stage') : undefined;
  if (!(staging instanceof AssetStaging)) return none;
  const file = staging.sourcePath;
  return { user, substitutions, rendered: false, file, body: sfn.DefinitionBody.fromFile(file) };
}

/**
 * CloudFormation evaluates the intrinsic functions of a `Definition` object (it is part of the template, unlike a
 * `DefinitionString`): each is read as a token of the same expression.
 */
function tokenizeIntrinsics(value: any): any {
  if (Array.isArray(value)) return value.map(tokenizeIntrinsics);
  if (value === null || typeof value !== 'object') return value;
  if (isIntrinsic(value)) return Token.asString(value);
  return Object.fromEntries(Object.keys(value).map((key) => [key, tokenizeIntrinsics(value[key])]));
}

function substitutionsOf(cfn: sfn.CfnStateMachine): { [key: string]: string } {
  const value = cfn.definitionSubstitutions;
  if (value === undefined || Token.isUnresolved(value)) return {};
  const out: { [key: string]: string } = {};
  for (const [key, v] of Object.entries(value)) out[key] = Token.asString(v);
  return out;
}

function isOneToken(value: string): boolean {
  return Token.isUnresolved(value) && /^\$\{Token\[[^\]]+\]\}$/.test(value);
}

/**
 * The text of a rendered definition, its CloudFormation expressions turned back into tokens: a state machine of the
 * app into its `stateMachineArn` (so it is read from its own resource, as in the role's own reading), the
 * pseudo parameters into `Aws.*`, anything else into a token of the same expression.
 *
 * Before `prepare` (in the aspect that derives grants) a reference to another stack resolves to a bare `Ref` to a
 * logical id of that stack: it is turned back into the state machine it names, or the text is not readable yet.
 */
function textOf(scope: IConstruct, value: string): string | undefined {
  const stack = Stack.of(scope);
  const resolved = stack.resolve(value);
  if (typeof resolved === 'string') return resolved;
  const join = resolved?.['Fn::Join'];
  if (!Array.isArray(join)) return undefined;
  const local = new Set<string>();
  const machines = new Map<string, sfn.StateMachine[]>();
  for (const node of scope.node.root.node.findAll()) {
    if (CfnElement.isCfnElement(node) && node.stack === stack) local.add(stack.resolve(node.logicalId));
    if (node instanceof sfn.CfnStateMachine && node.node.scope instanceof sfn.StateMachine) {
      const id = node.stack.resolve(node.logicalId);
      // This stack's state machine first: logical ids are unique only within a stack.
      const list = machines.get(id) ?? [];
      machines.set(id, node.stack === stack ? [node.node.scope, ...list] : [...list, node.node.scope]);
    }
  }
  const pseudo: { [name: string]: string } = {
    'AWS::Partition': Aws.PARTITION,
    'AWS::Region': Aws.REGION,
    'AWS::AccountId': Aws.ACCOUNT_ID,
    'AWS::URLSuffix': Aws.URL_SUFFIX,
  };
  const parts: string[] = [];
  for (const part of join[1]) {
    if (typeof part === 'string') {
      parts.push(part);
      continue;
    }
    // `stateMachineArn` of a state machine of the app renders as its `Ref`.
    const ref = String(part.Ref);
    const [machine, ...others] = machines.get(ref) ?? [];
    const sameStack = machine !== undefined && Stack.of(machine) === stack;
    const otherStack = machine !== undefined && !local.has(ref) && others.length === 0;
    const text = pseudo[ref] ?? (sameStack || otherStack ? machine.stateMachineArn : undefined);
    if (text !== undefined) {
      parts.push(text);
    } else if (logicalIds(part).every((id) => local.has(id) || id.startsWith('AWS::'))) {
      parts.push(Token.asString(part));
    } else {
      return undefined;
    }
  }
  return parts.join(join[0]);
}

/** The logical ids an expression refers to (`Ref`, `Fn::GetAtt`). */
function logicalIds(expression: any): string[] {
  if (Array.isArray(expression)) return expression.flatMap(logicalIds);
  if (expression === null || typeof expression !== 'object') return [];
  const own = typeof expression.Ref === 'string' ? [expression.Ref] : [];
  const getAtt = expression['Fn::GetAtt'];
  if (Array.isArray(getAtt)) own.push(String(getAtt[0]));
  return [...own, ...Object.values(expression).flatMap(logicalIds)];
}
