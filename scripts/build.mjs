// Builds dist/: TypeScript (tsc), then every JSON Schema in schemas/ compiled into a standalone
// validator module, so the CLI never compiles schemas at run time.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});

const Ajv = require('ajv').default;
const standaloneCode = require('ajv/dist/standalone').default;
const outDir = join(root, 'dist', 'schemas');
mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(join(root, 'schemas')).filter((f) => f.endsWith('.json')).sort()) {
  const schema = JSON.parse(readFileSync(join(root, 'schemas', file), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, code: { source: true } });
  const validate = ajv.compile(schema);
  writeFileSync(join(outDir, file.replace(/\.json$/, '.cjs')), standaloneCode(ajv, validate));
}
