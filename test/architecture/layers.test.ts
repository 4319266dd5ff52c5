/**
 * The layer rules of docs/architecture.md, checked on every import of src/: each folder may import
 * only the folders listed for it. A new import that breaks a rule fails here, naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { layerOf, ROOT, sources } from './sources.js';

const SHARED = ['util', 'errors.ts', 'diagnostics.ts', 'version.ts'];

/** What each layer may import besides itself (docs/architecture.md, "Layer rules"). */
const ALLOWED: Record<string, string[]> = {
  'util': ['errors.ts'],
  'errors.ts': [],
  'diagnostics.ts': ['errors.ts'],
  'version.ts': [],
  'graph': SHARED,
  'model': SHARED,
  'contract': SHARED,
  'compose': [...SHARED, 'model', 'graph'],
  'bundle': [...SHARED, 'model', 'compose', 'contract'],
  'plan': [...SHARED, 'model', 'contract'],
  'execute': [...SHARED, 'model', 'contract', 'plan'],
  'engine': [...SHARED, 'contract'],
  'daemon': [...SHARED, 'contract', 'swarm'],
  'swarm': [...SHARED, 'contract'],
  'stack': [...SHARED, 'contract', 'compose', 'bundle', 'execute'],
  'cli': [...SHARED, 'model', 'contract', 'compose', 'bundle', 'graph', 'plan', 'execute', 'engine', 'daemon', 'stack'],
};

test('every import follows the layer rules', () => {
  const broken: string[] = [];
  for (const s of sources()) {
    const from = layerOf(s.path);
    const allowed = ALLOWED[from];
    if (!allowed) {
      broken.push(`src/${s.path}: folder ${from} has no layer rule (add it to docs/architecture.md and this test)`);
      continue;
    }
    for (const target of s.imports) {
      const to = layerOf(target);
      if (to !== from && !allowed.includes(to)) broken.push(`src/${s.path} imports src/${target}: ${from} may not import ${to}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('every import names a file that exists', () => {
  const missing = sources().flatMap((s) => s.imports.filter((i) => !existsSync(join(ROOT, 'src', i))).map((i) => `src/${s.path} imports src/${i}`));
  assert.deepEqual(missing, []);
});

test('the rules are the ones docs/architecture.md states', async () => {
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    if (SHARED.includes(layer)) continue;
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${layer}/\``));
    assert.ok(line, `docs/architecture.md has a row for ${layer}/`);
    for (const a of allowed.filter((x) => !SHARED.includes(x))) assert.ok(line.includes(`\`${a}/\``), `the row of ${layer}/ names ${a}/`);
  }
});
