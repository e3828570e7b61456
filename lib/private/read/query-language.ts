import { JsonObject } from '../model/json';

/** The two query languages of Amazon States Language, and how a field of each holds an expression. */

export type QueryLanguage = 'JSONPath' | 'JSONata';

export function languageOf(node: JsonObject): QueryLanguage | undefined {
  const value = node.QueryLanguage;
  return value === 'JSONata' || value === 'JSONPath' ? value : undefined;
}

export function isJsonataExpression(value: string): boolean {
  const trimmed = value.trim();
  return trimmed.startsWith('{%') && trimmed.endsWith('%}');
}

/**
 * The value of a JSONata field: the text itself, or the string of an expression that is one string literal without
 * escapes (`{% 'arn:...' %}`), which JSONata evaluates to exactly that text; undefined for any other expression.
 */
export function jsonataStringLiteral(value: string): string | undefined {
  if (!isJsonataExpression(value)) return value;
  const literal = /^\s*\{%\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*%\}\s*$/.exec(value);
  return literal ? (literal[1] ?? literal[2]) : undefined;
}

/** A workflow variable name (`$states` is reserved for the state's own data). */
const VARIABLE = '\\$(?!states\\b)([A-Za-z_][A-Za-z0-9_]*)';

/** Compiled once: the variable flow tests them on every `Assign` of every pass. */
const PATH_VARIABLE = new RegExp(`^${VARIABLE}$`);
const JSONATA_VARIABLE = new RegExp(`^\\s*\\{%\\s*${VARIABLE}\\s*%\\}\\s*$`);

/** The variable a JSONPath path is, exactly (`$childArn`; not `$`, `$.x`, `$$.x` nor `$childArn.field`). */
export function pathVariable(path: string): string | undefined {
  return PATH_VARIABLE.exec(path)?.[1];
}

/** The variable a JSONata expression is, exactly (`{% $childArn %}`). */
export function jsonataVariable(value: string): string | undefined {
  return JSONATA_VARIABLE.exec(value)?.[1];
}
