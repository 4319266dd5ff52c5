// Builds dist/:
//  1. dist/src, dist/test: TypeScript compiled by tsc (the tests import these modules);
//  2. dist/schemas/*.cjs: every JSON Schema in schemas/ (and each derived one of schemas/overlays/)
//     compiled once into a standalone validator,
//     so the CLI never compiles schemas at run time;
//  3. dist/proto/engine.json: the Engine service's .proto in protobufjs's JSON form, which the CLI and
//     the daemon load without a .proto parser (src/engine/embedded/protocol/service.ts);
//  4. dist/bundle/main.cjs: the CLI bundled by esbuild (bin/flotilla.js runs it), with the V8 code
//     cache of one run next to it: loading one file of compiled code instead of ~100 modules is
//     most of a fast start.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { deriveSchema } from './derive-schema.mjs';

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
const schemaFiles = [
  ...readdirSync(join(root, 'schemas')).filter((f) => f.endsWith('.json')).sort()
    .map((file) => [file, JSON.parse(readFileSync(join(root, 'schemas', file), 'utf8'))]),
  // Derived schemas (scripts/derive-schema.mjs): a base with an overlay applied.
  ...readdirSync(join(root, 'schemas', 'overlays')).filter((f) => f.endsWith('.json')).sort()
    .map((file) => [file, deriveSchema(join(root, 'schemas'), join(root, 'schemas', 'overlays', file))]),
];
for (const [file, schema] of schemaFiles) {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, code: { source: true } });
  const validate = ajv.compile(schema);
  writeFileSync(join(outDir, file.replace(/\.json$/, '.cjs')), standaloneCode(ajv, validate));
}

const protobuf = require('protobufjs');
const engineProto = new protobuf.Root().loadSync(join(root, 'proto', 'flotilla', 'engine', 'v2', 'engine.proto'), { keepCase: false });
engineProto.resolveAll();
mkdirSync(join(root, 'dist', 'proto'), { recursive: true });
writeFileSync(join(root, 'dist', 'proto', 'engine.json'), JSON.stringify(engineProto.toJSON()));

const esbuild = require('esbuild');
const bundleDir = join(root, 'dist', 'bundle');
esbuild.buildSync({
  // One CommonJS file, loaded through V8's code cache (src/util/code-cache.ts): a command then
  // deserialises the code it ran last time instead of compiling it, and what is imported on demand
  // (the engines, listr2) is bundled behind lazy initialisers, so it is never run, nor compiled,
  // by a command that does not need it.
  entryPoints: { main: join(root, 'dist', 'src', 'cli', 'main.js') },
  outdir: bundleDir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  // Required on demand from node_modules (only to point an error at its line).
  external: ['yaml'],
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // vm.Script runs the bundle without a module loader: every import() (node:crypto, listr2, ...)
  // becomes a require() behind a promise, and the check below makes sure none is left.
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
  // docker-modem requires ssh2, whose native bindings cannot be bundled; we never dial ssh://.
  alias: { ssh2: join(root, 'dist', 'src', 'engine', 'docker', 'ssh2-stub.js') },
  // The sources are ES modules that find their files from import.meta.url.
  define: { 'import.meta.url': '__flotillaModuleUrl' },
  banner: { js: "const __flotillaModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

const bundleFile = join(bundleDir, 'main.cjs');
const bundled = readFileSync(bundleFile, 'utf8');
const dynamicImport = /(?<![\w$.])import\(/.exec(bundled);
if (dynamicImport) {
  const line = bundled.slice(0, dynamicImport.index).split('\n').length;
  throw new Error(`dist/bundle/main.cjs:${line}: an import() is left, which fails where the bundle runs (vm.Script)`);
}

// Pure ASCII, so Node reads the bundle without a UTF-8 decoding pass (esbuild escapes strings, but
// leaves some comments and regular expressions as written). A \u escape means the same character
// in a comment, a string, a template or a regular expression.
writeFileSync(
  bundleFile,
  bundled.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
);

// A first run writes the code caches (the bundle's, and the validators' it loads) for this Node.
// The file is named: a COMPOSE_FILE or -f habit in the builder's environment must not matter.
execFileSync(process.execPath, [join(root, 'bin', 'flotilla.js'), '-f', 'compose.yaml', 'config', '-q'], {
  cwd: join(root, 'examples', 'hello'),
  stdio: ['ignore', 'ignore', 'inherit'],
});
