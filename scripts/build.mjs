// Builds dist/:
//  1. dist/src, dist/test: TypeScript compiled by tsc (the tests import these modules);
//  2. dist/schemas/*.cjs: every JSON Schema in schemas/ compiled once into a standalone validator,
//     so the CLI never compiles schemas at run time;
//  3. dist/proto/engine.json: the Engine service's .proto in protobufjs's JSON form, which the CLI and
//     the daemon load without a .proto parser (src/engine/embedded/protocol/service.ts);
//  4. dist/bundle/: the CLI bundled by esbuild (bin/flotilla.js runs dist/bundle/main.mjs):
//     loading a few files instead of ~100 modules is most of a fast start.
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

const protobuf = require('protobufjs');
const engineProto = new protobuf.Root().loadSync(join(root, 'proto', 'flotilla', 'engine', 'v1', 'engine.proto'), { keepCase: false });
engineProto.resolveAll();
mkdirSync(join(root, 'dist', 'proto'), { recursive: true });
writeFileSync(join(root, 'dist', 'proto', 'engine.json'), JSON.stringify(engineProto.toJSON()));

const esbuild = require('esbuild');
esbuild.buildSync({
  // dist/bundle/main.js, plus chunks for what is imported on demand (the engines, listr2), so a
  // command compiles only the code it runs.
  entryPoints: { main: join(root, 'dist', 'src', 'cli', 'main.js') },
  outdir: join(root, 'dist', 'bundle'),
  outExtension: { '.js': '.mjs' },
  splitting: true,
  bundle: true,
  // Required on demand from node_modules (only to point an error at its line).
  external: ['yaml'],
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // docker-modem requires ssh2, whose native bindings cannot be bundled; we never dial ssh://.
  alias: { ssh2: join(root, 'dist', 'src', 'engine', 'docker', 'ssh2-stub.js') },
  // Bundled CommonJS dependencies call require(); give them one.
  banner: { js: "import { createRequire as __flotillaRequire } from 'node:module'; const require = __flotillaRequire(import.meta.url);" },
});
