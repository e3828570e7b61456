import * as fs from 'fs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AslTasks, DefinitionReader, parseJson } from './asl';
import { readChain } from './chain';
import { languageOf } from './query-language';
import { JsonObject, isObject } from '../model/json';
import { truncate } from '../model/render';

/**
 * Reads a parent's definition body (a file, a string or a chain of CDK states) with the ASL reader: every task that
 * starts a child state machine, at any depth, with what the role needs to know about it.
 */

/** What a definition holds, as far as the parent's role goes. */
export interface DefinitionTasks extends AslTasks {
  /**
   * Statements that aws-cdk-lib task constructs of a chain (`StepFunctionsStartExecution`, `CallAwsService` on
   * `sfn:startSyncExecution`) add to the state machine's role for the children they start: this role grants those
   * children exactly instead.
   */
  readonly replacedStatements: iam.PolicyStatement[];
  /** The `Credentials.RoleArn`s of those tasks (aws-cdk-lib adds `sts:AssumeRole` on each, outside their own statements). */
  readonly replacedAssumeRoles: string[];
}

/**
 * Reads a definition body.
 *
 * @param where how messages name the definition's owner, e.g. the construct path
 * @throws on a definition that is not valid JSON or not a state machine, a `${Name}` without substitution where the
 *   role needs it, a run-time credentials role
 */
export function readDefinition(
  where: string,
  body: sfn.DefinitionBody,
  substitutions: { [key: string]: string } = {},
): DefinitionTasks {
  const reader = new DefinitionReader(where, substitutions);
  if (body instanceof sfn.ChainDefinitionBody) {
    const replacedStatements: iam.PolicyStatement[] = [];
    const replacedAssumeRoles: string[] = [];
    readChain(reader, body.chainable, replacedStatements, replacedAssumeRoles);
    return { ...reader.tasks(), replacedStatements, replacedAssumeRoles };
  }
  let definition: JsonObject;
  if (body instanceof sfn.FileDefinitionBody) {
    let text: string;
    try {
      text = fs.readFileSync(body.path, 'utf-8');
    } catch (e) {
      throw new Error(`${where}: \`definitionBody\` cannot read the file ${body.path}: ${(e as Error).message}`);
    }
    definition = parseJson(text, `${where}: \`definitionBody\` file ${body.path}`);
  } else if (body instanceof sfn.StringDefinitionBody) {
    definition = parseJson(body.body, `${where}: \`definitionBody\` (DefinitionBody.fromString)`);
  } else {
    throw new Error(
      `${where}: \`definitionBody\` must come from sfn.DefinitionBody.fromFile, fromString or fromChainable, got: ${body.constructor.name}`,
    );
  }
  if (!isObject(definition.States)) {
    throw new Error(
      `${where}: \`definitionBody\` must be an Amazon States Language definition with a "States" object, got: ${truncate(JSON.stringify(definition))}`,
    );
  }
  reader.readGraph(definition, languageOf(definition) ?? 'JSONPath');
  return { ...reader.tasks(), replacedStatements: [], replacedAssumeRoles: [] };
}
