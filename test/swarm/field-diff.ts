/** Field-by-field differences of two JSON trees, one line per differing path. */

function describe(v: unknown): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

export function fieldDifferences(expected: unknown, actual: unknown, path: string): string[] {
  if (JSON.stringify(expected) === JSON.stringify(actual)) return [];
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length) {
    return expected.flatMap((e, i) => fieldDifferences(e, actual[i], `${path}[${i}]`));
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(expected) && isObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    return keys.flatMap((k) => fieldDifferences(expected[k], actual[k], `${path}.${k}`));
  }
  return [`${path}: docker ${describe(expected)}, flotilla ${describe(actual)}`];
}
