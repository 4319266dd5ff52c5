/**
 * Inputs that expand: nested templates, YAML aliases, variables, .env lines that double the one
 * above, and extends/env_file repeating one big value in many services. Each is a located error
 * (docker-compose 1.29.2 runs out of memory or time on them), never a crash or gigabytes of output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProject } from '../../src/compose/load.js';
import { MAX_EXPANDED_BYTES } from '../../src/compose/limits.js';
import { MAX_NESTING, substitute, TemplateError } from '../../src/compose/interpolate/template.js';
import { ConfigError } from '../../src/errors.js';
import { assertCleanError, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

const nested = (depth: number) => `${'${A:-'.repeat(depth)}x${'}'.repeat(depth)}`;
const ctx = { lookup: () => undefined, dialect: 'compose' as const, onUnset: () => {} };

test('nested templates: MAX_NESTING levels work, deeper is an error, not a stack overflow', () => {
  assert.equal(substitute(nested(MAX_NESTING), ctx), 'x');
  for (const depth of [MAX_NESTING + 1, 1800, 20_000]) {
    assert.throws(
      () => substitute(nested(depth), ctx),
      (e: unknown) => e instanceof TemplateError && /nest more than 64 levels deep/.test(e.message) && e.message.length < 400,
    );
  }
});

test('a substitution stops at its length limit', () => {
  const big = { ...ctx, lookup: () => 'v'.repeat(1000) };
  assert.equal(substitute('$A$A', big, 2000).length, 2000);
  assert.throws(() => substitute('$A$A$A', big, 2000), (e: unknown) => e instanceof TemplateError && e.kind === 'too-long');
});

/** A file whose one value is aliased `count` times, `size` characters each. */
function aliasBomb(size: number, count: number, value = 'y'): string {
  const refs = Array.from({ length: count }, (_, i) => `      V${i}: *big\n`).join('');
  return `x-big: &big "${value.repeat(size)}"\nservices:\n  a:\n    image: busybox\n    environment:\n${refs}`;
}

/** Loads `text` as compose.yml in `dir`. */
function load(dir: string, text: string, extra: { interpolate?: boolean; shell?: Record<string, string> } = {}) {
  writeFileSync(join(dir, 'compose.yml'), text);
  return loadProject({ cwd: dir, shell: { HOME: dir, ...extra.shell }, interpolate: extra.interpolate ?? true });
}

const expands = (pattern: RegExp, line?: number) => (e: unknown) =>
  e instanceof ConfigError && pattern.test(e.message) && /more than 32 MiB/.test(e.message) && (line === undefined || e.location?.line === line);

test('aliases and variables: a file expands to at most 32 MiB, with or without interpolation', (t) => {
  const dir = projectDir(t, {});
  const count = Math.ceil(MAX_EXPANDED_BYTES / 65536) + 2;
  // The limit is passed at the line of the alias that passes it.
  assert.throws(() => load(dir, aliasBomb(65536, count)), expands(/the file expands/, 3 + count));
  assert.throws(() => load(dir, aliasBomb(65536, count), { interpolate: false }), expands(/the project expands .* at service 'a'/, 3));
  // A value made of variables: 40 copies of a 1 MiB variable in one string.
  const vars = `services:\n  a:\n    image: busybox\n    command: "${'$BIG '.repeat(40)}"\n`;
  assert.throws(() => load(dir, vars, { shell: { BIG: 'b'.repeat(1 << 20) } }), expands(/the file expands/, 4));
  // Below the limit all is well.
  assert.equal(Object.keys(load(dir, aliasBomb(65536, 100)).project.services[0]?.environment ?? {}).length, 100);
});

test('.env lines that double the one above: refused at the line that passes 32 MiB', (t) => {
  const lines = ['A0=0123456789abcdef', ...Array.from({ length: 40 }, (_, i) => `A${i + 1}=\${A${i}}\${A${i}}`)];
  const dir = projectDir(t, { '.env': `${lines.join('\n')}\n` });
  // A20 is 16 MiB, and with all the lines above it (and their text) just over 32 MiB: line 21.
  assert.throws(() => load(dir, 'services:\n  a:\n    image: busybox\n'), (e: unknown) => expands(/values expand/, 21)(e) && (e as ConfigError).location?.file?.endsWith('.env') === true);
});

test('extends and env_file repeating a big value in many services: refused at the service that passes 32 MiB', (t) => {
  const big = 'z'.repeat(4 << 20);
  const services = Array.from({ length: 12 }, (_, i) => `  s${i}:\n    image: busybox\n    env_file: big.env\n`).join('');
  const dir = projectDir(t, { 'big.env': `BIG=${big}\n` });
  assert.throws(() => load(dir, `services:\n${services}`), expands(/the project expands .* at service 's7'/));
  const extending = Array.from({ length: 12 }, (_, i) => `  s${i}:\n    extends: base\n`).join('');
  assert.throws(
    () => load(dir, `services:\n  base:\n    image: busybox\n    environment:\n      BIG: ${big}\n${extending}`),
    expands(/the project expands .* at service 's\d+'/),
  );
});

test('config, --format json and --hash refuse an expanding file in one line, exit 1', (t) => {
  const dir = projectDir(t, { 'bomb.yml': aliasBomb(65536, 520), 'nest.yml': `services:\n  a:\n    image: busybox\n    command: "${nested(1800)}"\n` });
  for (const args of [['config'], ['config', '--format', 'json'], ['config', '--hash', '*'], ['config', '--no-interpolate']]) {
    assertCleanError(flotilla(['-f', 'bomb.yml', ...args], { cwd: dir }), /^ERROR: bomb\.yml:\d+:\d+: services\.a(\.environment\.V\d+)?: the (file|project) expands to more than 32 MiB/);
    assertCleanError(flotilla(['-f', 'nest.yml', ...args.filter((a) => a !== '--no-interpolate')], { cwd: dir }), /^ERROR: nest\.yml:4:5: services\.a\.command: variables nest more than 64 levels deep in "\$\{A:-/);
  }
});
