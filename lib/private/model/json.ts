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

/**
 * `JSON.stringify` without recursion: a definition nested hundreds of levels deep (which JSON.parse reads) would
 * overflow the stack of the built-in one. Keys in insertion order, no white space, as `JSON.stringify(value)`.
 */
export function stringifyJson(value: Json): string {
  const out: string[] = [];
  // A string to emit, or a value to write.
  const stack: Array<{ text: string } | { value: Json }> = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (Array.isArray(v)) {
      const parts: Array<{ text: string } | { value: Json }> = [{ text: '[' }];
      v.forEach((element, i) => {
        if (i > 0) parts.push({ text: ',' });
        parts.push({ value: element === undefined ? null : element });
      });
      parts.push({ text: ']' });
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
    } else if (isObject(v)) {
      const parts: Array<{ text: string } | { value: Json }> = [{ text: '{' }];
      let first = true;
      for (const [key, element] of Object.entries(v)) {
        if (element === undefined) continue;
        parts.push({ text: `${first ? '' : ','}${JSON.stringify(key)}:` });
        parts.push({ value: element });
        first = false;
      }
      parts.push({ text: '}' });
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
    } else {
      out.push(JSON.stringify(v) ?? 'null');
    }
  }
  return out.join('');
}

/** Every string of `value` (keys excluded), without recursion. */
export function stringsIn(value: Json | undefined): string[] {
  const found: string[] = [];
  const stack: Array<Json | undefined> = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') found.push(v);
    else if (Array.isArray(v)) for (const element of v) stack.push(element);
    else if (isObject(v)) for (const element of Object.values(v)) stack.push(element);
  }
  return found;
}

/** Every object of `value`, itself included, without recursion. */
export function objectsIn(value: Json | undefined): JsonObject[] {
  const found: JsonObject[] = [];
  const stack: Array<Json | undefined> = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const element of v) stack.push(element);
    } else if (isObject(v)) {
      found.push(v);
      for (const element of Object.values(v)) stack.push(element);
    }
  }
  return found;
}

/** An object with these entries as own properties, `__proto__` and `constructor` included (never the prototype). */
export function objectOf(entries: Iterable<[string, Json]>): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of entries) {
    Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** Whether `object` has `key` as its own property (not one of Object.prototype's, such as `constructor`). */
export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}
