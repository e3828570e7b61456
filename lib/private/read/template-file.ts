import * as fs from 'fs';
import * as YAML from 'yaml';
import { describeJson, TemplateError } from './template-reader';
import { isObject, Json, JsonObject } from '../model/json';

/**
 * Reads a CloudFormation template file, JSON or YAML (what SAM and CloudFormation users write), with YAML's
 * short-form intrinsic tags (`!Ref`, `!Sub`, `!GetAtt`, `!Join`, ...) read as their long form.
 */

/** The short forms: `!Ref`, `!Condition` and the `Fn::` functions. */
const SHORT_FORMS = [
  'Ref',
  'Condition',
  ...[
    'And',
    'Base64',
    'Cidr',
    'Equals',
    'FindInMap',
    'ForEach',
    'GetAtt',
    'GetAZs',
    'If',
    'ImportValue',
    'Join',
    'Length',
    'Not',
    'Or',
    'Select',
    'Split',
    'Sub',
    'ToJsonString',
    'Transform',
  ].map((name) => `Fn::${name}`),
];

function longForm(name: string, value: unknown): JsonObject {
  // `!GetAtt Logical.Attribute` is `Fn::GetAtt: [Logical, Attribute]`.
  if (name === 'Fn::GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { [name]: dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [name]: value as Json };
}

const TAGS: YAML.Tags = SHORT_FORMS.flatMap((name) => {
  const tag = `!${name.replace(/^Fn::/, '')}`;
  return [
    { tag, resolve: (text: string) => longForm(name, text) },
    { tag, collection: 'seq', resolve: (seq: YAML.YAMLSeq) => longForm(name, seq.toJSON()) },
    { tag, collection: 'map', resolve: (map: YAML.YAMLMap) => longForm(name, map.toJSON()) },
  ] as YAML.Tags;
});

/**
 * The template in the file, checked to be one: an object with CloudFormation's sections (`Resources`, or
 * `AWSTemplateFormatVersion`), not a state machine definition.
 *
 * @throws TemplateError naming the file: unreadable, neither JSON nor YAML, or not a template
 */
export function readTemplateFile(templatePath: string): JsonObject {
  let text: string;
  try {
    text = fs.readFileSync(templatePath, 'utf-8');
  } catch (e) {
    throw new TemplateError(`cannot read the template ${templatePath}: ${(e as Error).message}`);
  }
  let template: Json;
  try {
    template = JSON.parse(text);
  } catch (jsonError) {
    try {
      template = YAML.parse(text, { customTags: TAGS, prettyErrors: false }) as Json;
    } catch (yamlError) {
      const first = /^\s*[[{]/.test(text) ? jsonError : yamlError;
      throw new TemplateError(`${templatePath} is neither JSON nor YAML: ${(first as Error).message.split('\n')[0]}`);
    }
  }
  if (isObject(template) && typeof template.StartAt === 'string' && isObject(template.States)) {
    throw new TemplateError(
      `${templatePath} is a state machine definition, not a CloudFormation template: print the policy it needs with \`cdk-nested-workflow-role policy ${templatePath}\`.`,
    );
  }
  if (!isObject(template) || (!isObject(template.Resources) && template.AWSTemplateFormatVersion === undefined)) {
    throw new TemplateError(
      `${templatePath} is not a CloudFormation template: it holds ${describeJson(template ?? null)}, not an object with Resources.`,
    );
  }
  return template;
}
