import { hasOwn, objectOf, stringifyJson, stringsIn } from '../../lib/private/model/json';

describe('JSON without recursion', () => {
  test.each([
    ['an object', { b: 1, a: [true, null, 'x'], c: { d: '"q"' } }],
    ['undefined members and elements, as JSON.stringify writes them', { a: undefined, b: [undefined, 1] }],
    ['a string', 'text'],
    ['an empty list and object', { a: [], b: {} }],
  ])('stringifyJson writes %s as JSON.stringify does', (_name, value) => {
    expect(stringifyJson(value as any)).toBe(JSON.stringify(value));
  });

  test('stringifyJson and stringsIn walk 10,000 levels deep', () => {
    let deep: any = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = i % 2 ? { x: deep } : [deep];
    expect(stringifyJson(deep)).toHaveLength('leaf'.length + 2 + 5_000 * 2 + 5_000 * 6);
    expect(stringsIn(deep)).toEqual(['leaf']);
  });

  test('objectOf keeps __proto__ and constructor as own keys', () => {
    const object = objectOf([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
    expect(hasOwn(object, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect(Object.entries(object)).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
  });
});
