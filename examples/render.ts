/**
 * Renders CloudFormation intrinsics in a synthesized template as readable `${...}` placeholders, so that policy
 * documents of an environment-agnostic stack can be read (and diffed) without deploying.
 */

/** A CloudFormation template, as far as the renderer reads it. */
export interface Template {
  readonly Resources?: { [logicalId: string]: TemplateResource };
}

/** A template resource, as far as the renderer reads it. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: { [name: string]: unknown };
  readonly Metadata?: { [key: string]: unknown };
}

const PSEUDO_PARAMETERS: { [name: string]: string } = {
  'AWS::Partition': '${Partition}',
  'AWS::Region': '${Region}',
  'AWS::AccountId': '${Account}',
  'AWS::URLSuffix': '${URLSuffix}',
  'AWS::StackName': '${StackName}',
  'AWS::StackId': '${StackId}',
};

/** What `Ref` to a state machine splits into at `:` (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`). */
const STATE_MACHINE_ARN_PARTS: { [index: number]: string } = {
  0: 'arn',
  1: '${Partition}',
  2: 'states',
  3: '${Region}',
  4: '${Account}',
  5: 'stateMachine',
};

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Renders `value` (any part of `template`) with every intrinsic replaced by a placeholder string. */
export function render(value: unknown, template: Template): Json {
  const resources = template.Resources ?? {};
  const visit = (v: unknown): Json => {
    if (Array.isArray(v)) return v.map(visit);
    if (v === null || typeof v !== 'object') return v as Json;
    const entries = Object.entries(v);
    if (entries.length === 1) {
      const [[fn, args]] = entries;
      const rendered = intrinsic(fn, args);
      if (rendered !== undefined) return rendered;
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, visit(x)]));
  };
  const text = (v: unknown): string => {
    const r = visit(v);
    return typeof r === 'string' ? r : JSON.stringify(r);
  };
  const ref = (id: string): string =>
    PSEUDO_PARAMETERS[id] ??
    (resources[id]?.Type === 'AWS::StepFunctions::StateMachine' ? `\${${id}.Arn}` : `\${${id}}`);
  const select = (index: number, list: unknown): string => {
    if (Array.isArray(list)) return text(list[index]);
    const split = (list as { 'Fn::Split'?: [string, unknown] })['Fn::Split'];
    if (!split) return `\${Select(${index}, ${text(list)})}`;
    const [separator, source] = split;
    const id = (source as { Ref?: string }).Ref;
    if (separator === ':' && id !== undefined && resources[id]?.Type === 'AWS::StepFunctions::StateMachine') {
      const name = resources[id].Properties?.StateMachineName;
      if (index in STATE_MACHINE_ARN_PARTS) return STATE_MACHINE_ARN_PARTS[index];
      if (index === 6 && typeof name === 'string') return name;
    }
    return `\${Select(${index}, Split(${JSON.stringify(separator)}, ${text(source)}))}`;
  };
  const intrinsic = (fn: string, args: unknown): Json | undefined => {
    switch (fn) {
      case 'Ref':
        return ref(args as string);
      case 'Fn::GetAtt':
        return `\${${Array.isArray(args) ? args.join('.') : String(args)}}`;
      case 'Fn::Join': {
        const [separator, parts] = args as [string, unknown[]];
        return parts.map(text).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = args as [number | string, unknown];
        return select(Number(index), list);
      }
      case 'Fn::Sub': {
        const [body, variables] = (Array.isArray(args) ? args : [args, {}]) as [string, { [name: string]: unknown }];
        return body.replace(/\$\{([^}!]+)\}/g, (whole: string, name: string) =>
          name in variables ? text(variables[name]) : name.includes('.') ? whole : ref(name),
        );
      }
      default:
        return fn.startsWith('Fn::') ? `\${${fn.slice(4)}(${text(args)})}` : undefined;
    }
  };
  return visit(value);
}

/** Size of a document as IAM counts it: characters of its JSON without white space. */
export function sizeWithoutWhiteSpace(document: unknown): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}
