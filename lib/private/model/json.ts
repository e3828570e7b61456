/** JSON as the readers see it: definitions, templates and policy documents. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A CloudFormation intrinsic function object: one key, `Ref` or `Fn::<name>` (`{"Ref": ...}`, `{"Fn::Join": ...}`).
 * The one test of it: the template reader evaluates them, the size bounds bound them, the ASL reader refuses them in
 * a definition, the deployed-definition reader turns them into tokens.
 */
export function isIntrinsic(value: unknown): boolean {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}
