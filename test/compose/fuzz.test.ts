/**
 * Fuzzing the compiler: mutated and random documents must load or fail with a FlotillaError (one
 * clean message), never with another exception, and in bounded time. The generator is seeded, so a
 * failure names the seed and iteration that reproduce it (FUZZ_SEED=... FUZZ_ITERATIONS=...).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProject } from '../../src/compose/load.js';
import { FlotillaError } from '../../src/errors.js';
import { projectDir } from '../helpers/tmp.js';
import { documents, SUPPORT_FILES } from '../helpers/fuzz.js';

const seed = Number(process.env['FUZZ_SEED'] ?? 20261122);
const iterations = Number(process.env['FUZZ_ITERATIONS'] ?? 3000);

test(`mutated and random documents: a clean error or success, never a crash (seed ${seed}, ${iterations} documents)`, (t) => {
  const dir = projectDir(t, SUPPORT_FILES);
  let ok = 0;
  let errors = 0;
  documents(seed, iterations).forEach((text, i) => {
    try {
      loadProject({ cwd: dir, shell: { HOME: dir, LOG_LEVEL: 'debug' }, files: ['-'], readStdin: () => text });
      ok++;
    } catch (e) {
      if (!(e instanceof FlotillaError)) {
        assert.fail(`document ${i} (FUZZ_SEED=${seed}) crashed with ${String(e)}:\n${text}\n${(e as Error).stack ?? ''}`);
      }
      assert.ok(e.message.length > 0 && !e.message.includes('undefined'), `document ${i}: unhelpful message "${e.message}"`);
      errors++;
    }
  });
  // Both outcomes must occur, or the generator is not exercising anything.
  assert.ok(ok > iterations / 50, `${ok} documents loaded`);
  assert.ok(errors > iterations / 10, `${errors} documents were refused`);
});
