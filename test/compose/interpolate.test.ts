import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substitute, TemplateError, type Dialect } from '../../src/compose/interpolate/template.js';
import { interpolateFile } from '../../src/compose/interpolate/index.js';
import { Environment } from '../../src/compose/environment.js';
import { Diagnostics } from '../../src/diagnostics.js';
import { readYaml } from '../../src/compose/yaml/read.js';
import { ConfigError } from '../../src/errors.js';

const env: Record<string, string> = { SET: 'val', EMPTY: '' };

function sub(template: string, dialect: Dialect = 'compose'): { value: string; unset: string[] } {
  const unset: string[] = [];
  const value = substitute(template, { lookup: (n) => env[n], dialect, onUnset: (n) => unset.push(n) });
  return { value, unset };
}

test('docker-compose 1.29.2 forms', () => {
  const cases: [string, string][] = [
    ['${SET}', 'val'],
    ['$SET', 'val'],
    ['${UNSET:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${UNSET-dflt}', 'dflt'],
    ['$$SET literal', '$SET literal'],
    ['${SET}_suffix', 'val_suffix'],
    ['${A:-x:-y}', 'x:-y'],
    ['${EMPTY?must exist}', ''],
    ['a ${SET} b $$ c', 'a val b $ c'],
  ];
  for (const [template, expected] of cases) assert.equal(sub(template).value, expected, template);
});

test('a bare name is greedy, and an unset variable warns', () => {
  assert.deepEqual(sub('$SET_suffix'), { value: '', unset: ['SET_suffix'] });
  assert.deepEqual(sub('${UNSET}'), { value: '', unset: ['UNSET'] });
});

test('compose-go extensions: :+, + and nesting', () => {
  assert.equal(sub('${SET:+alt}').value, 'alt');
  assert.equal(sub('${EMPTY:+alt}').value, '');
  assert.equal(sub('${EMPTY+alt}').value, 'alt');
  assert.equal(sub('${UNSET+alt}').value, '');
  assert.equal(sub('${UNSET:-${SET}}').value, 'val');
  assert.equal(sub('${UNSET:-${ALSO_UNSET:-deep}}').value, 'deep');
  assert.equal(sub('${UNSET:-{x}}').value, '{x}');
});

test('required variables fail with their message', () => {
  assert.throws(() => sub('${REQ:?please set REQ}'), (e: unknown) => e instanceof TemplateError && e.kind === 'required' && /please set REQ/.test(e.message));
  assert.throws(() => sub('${EMPTY:?must be nonempty}'), /must be nonempty/);
  assert.throws(() => sub('${REQ?}'), /REQ/);
});

test('invalid templates are errors', () => {
  for (const t of ['$', 'a $ b', '${}', '${1abc}', '$1abc', '${A B}', '${ UNSET }', '${A:=x}', '${A']) {
    assert.throws(() => sub(t), (e: unknown) => e instanceof TemplateError && e.kind === 'invalid', t);
  }
});

test('v1 files keep the legacy grammar', () => {
  assert.equal(sub('${SET} $SET $$', 'legacy').value, 'val val $');
  assert.throws(() => sub('${UNSET:-x}', 'legacy'), TemplateError);
});

function interpolate(yaml: string, vars: Record<string, string> = {}) {
  const file = readYaml(yaml, '/p/compose.yml');
  const diagnostics = new Diagnostics();
  const doc = interpolateFile(file.value as Record<string, unknown>, file, false, {
    environment: Environment.fromShell(vars),
    diagnostics,
    enabled: true,
  });
  return { doc, diagnostics };
}

test('values are interpolated and re-typed by path, keys and x- extensions are not', () => {
  const { doc, diagnostics } = interpolate(
    'x-ext: ${A}\nservices:\n  web:\n    privileged: "${P:-yes}"\n    scale: "${S:-2}"\n    cpus: "0.5"\n    ports:\n      - target: "80"\n        published: "${PORT}"\n    labels:\n      "${A}": true\n      n: 1\n    ulimits:\n      nofile: {soft: "20", hard: "40"}\n',
    { PORT: '8080', A: 'a' },
  );
  assert.deepEqual(doc, {
    'x-ext': '${A}',
    services: {
      web: {
        privileged: true,
        scale: 2,
        cpus: 0.5,
        ports: [{ target: 80, published: 8080 }],
        labels: { '${A}': 'True', n: '1' },
        ulimits: { nofile: { soft: 20, hard: 40 } },
      },
    },
  });
  assert.deepEqual(diagnostics.warnings, []);
});

test('the unset-variable warning comes once per variable', () => {
  const { diagnostics } = interpolate('services:\n  a:\n    image: ${X}\n    command: ${X} ${Y}\n');
  assert.deepEqual(
    diagnostics.warnings.map((w) => w.message),
    ['The X variable is not set. Defaulting to a blank string.', 'The Y variable is not set. Defaulting to a blank string.'],
  );
});

test('errors name the key and its line', () => {
  assert.throws(
    () => interpolate('services:\n  a:\n    image: x\n    command: ["a", "${A B}"]\n'),
    (e: unknown) => e instanceof ConfigError && e.location?.path === 'services.a.command[1]' && e.location?.line === 4,
  );
  assert.throws(
    () => interpolate('services:\n  a:\n    cpus: "${C:-abc}"\n'),
    (e: unknown) => e instanceof ConfigError && /not a valid float/.test(e.message) && e.location?.path === 'services.a.cpus',
  );
});
