/**
 * Loads a CommonJS file (the CLI bundle, a compiled schema validator) through V8's code cache, so
 * a run deserialises compiled code instead of parsing and compiling the source again: for the
 * bundle that is most of a short command's start-up (Node 20 has no compile cache of its own).
 *
 * The cache lives next to the file, one per Node version, V8 flags (a cache made under other
 * flags is rejected by V8) and version of the file. When there is none, or V8 rejects it, this run writes a new one as it
 * exits, holding everything the run compiled. Writing is best effort: a read-only installation
 * just runs without a cache.
 */
import { isAscii } from 'node:buffer';
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

interface CommonJsModule {
  exports: unknown;
}

/** What a cache depends on besides its source: Node's (and so V8's) version and V8's flags. */
let runtimeKey: string | undefined;

function fnv1a(text: string): string {
  // Enough to tell configurations apart, and node:crypto is not worth loading for it.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Where the cache of `file` is. V8 checks a cache against its source's length only: an edited
 * file of the same length would run the old code, so the file's size and time are in the name.
 */
function codeCachePath(file: string): string {
  runtimeKey ??= [process.version, process.arch, ...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].join('\0');
  const { size, mtimeMs } = statSync(file);
  return `${file}.${fnv1a(`${runtimeKey}\0${size}\0${mtimeMs}`)}.v8cache`;
}

/**
 * A file's text. The build writes the bundle as pure ASCII, which is read as Latin-1: the same
 * characters without UTF-8 decoding, a measurable part of a command's start-up for 3 MB.
 */
function textOf(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

/** How the code cache served a load: used, absent, or refused by V8 (both of which rewrite it at exit). */
export type CodeCacheOutcome = 'used' | 'absent' | 'rejected';

/** `module.exports` of the CommonJS file at `file` (an absolute path). */
export function loadWithCodeCache(file: string): unknown {
  return loadCommonJs(file).exports;
}

export function loadCommonJs(file: string): { exports: unknown; cache: CodeCacheOutcome } {
  const cachePath = codeCachePath(file);
  // The wrapper starts on the source's first line, so line numbers in stack traces stay right.
  const source = `(function (exports, require, module, __filename, __dirname) {${textOf(readFileSync(file))}\n})`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(source, { filename: file, cachedData });
  const cache: CodeCacheOutcome = cachedData === undefined ? 'absent' : script.cachedDataRejected === true ? 'rejected' : 'used';
  if (cache !== 'used') process.once('exit', () => writeCache(script, cachePath));
  const module: CommonJsModule = { exports: {} };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: CommonJsModule,
    filename: string,
    dirname: string,
  ) => void;
  wrapper(module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, cache };
}

function writeCache(script: Script, cachePath: string): void {
  const temporary = `${cachePath}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData(), { mode: 0o644 });
    renameSync(temporary, cachePath);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
  }
}
