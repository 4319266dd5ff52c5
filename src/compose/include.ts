/**
 * `include` (version-less files only): other Compose projects brought into this one, as Compose v2
 * reads them (compose-go loader/include.go):
 *
 * - an entry is a path, or `{path, project_directory, env_file}`; `path` is one file or a list
 *   (the first file and its overrides, merged as `-f` files are);
 * - relative paths start from the including project's directory (for a top-level file, the
 *   project directory; for an included file, its own project directory);
 * - `project_directory` (default: the first path's directory) is where the included files'
 *   relative paths start from;
 * - the included files are interpolated with the including project's variables, and under them
 *   the entry's `env_file` files (relative to the including directory; each must exist;
 *   `/dev/null` is skipped), else the included project's own `.env` when it has one;
 * - the included services, networks, volumes, secrets and configs join the project's; a
 *   definition the including file also has is merged under it, as an override file's is
 *   (compose-go since Nov 2025; before, a conflict that was not identical was an error);
 * - a file that includes itself through any chain is refused, with the chain; nesting and the
 *   number of files are bounded (./limits.ts).
 *
 * The result is flat: each included file comes before the file that includes it, so the merge of
 * `-f` files (later wins) gives the including file's definitions precedence. Services of an
 * included file are resolved here (extends, relative paths against its project directory), since
 * the rest of the loader resolves paths against the main project's directory.
 */
import { setOwn } from '../util/own.js';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { InputFileError, isFile } from '../util/input-files.js';
import { isLegacy, locationIn, readComposeFile, serviceDicts, servicePath, type ComposeFile, type FileContext } from './compose-file.js';
import type { Environment } from './environment.js';
import { resolveExtends, type ExtendsContext } from './extends.js';
import { MAX_INCLUDE_DEPTH, MAX_INCLUDED_FILES } from './limits.js';
import { MergeProblem } from './merge.js';
import { processService, ServiceProblem } from './service/process.js';
import { expandPath } from './syntax/paths.js';
import { isPlainObject } from './yaml/read.js';

type Dict = Record<string, unknown>;

export interface IncludeContext {
  fileCtx: FileContext;
  home: string;
  cwd: string;
}

export interface ExpandedFiles {
  /** Every file of the project in merge order: each included file before the file including it. */
  files: ComposeFile[];
  /** Services of included files, extends resolved and paths absolute. */
  services: Map<ComposeFile, Record<string, Dict>>;
  /** The files each file includes directly (extends may name a service of one of them). */
  includes: Map<ComposeFile, ComposeFile[]>;
}

interface Entry {
  paths: string[];
  projectDirectory?: string;
  envFiles?: string[];
}

const asList = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

function entries(file: ComposeFile): Entry[] {
  const include = file.doc['include'];
  if (!Array.isArray(include)) return [];
  return include.map((item) => {
    if (!isPlainObject(item)) return { paths: [String(item)] };
    const e: Entry = { paths: asList(item['path']) };
    if (typeof item['project_directory'] === 'string') e.projectDirectory = item['project_directory'];
    if (item['env_file'] !== undefined) e.envFiles = asList(item['env_file']);
    return e;
  });
}

export function expandIncludes(top: readonly ComposeFile[], workingDir: string, environment: Environment, ctx: IncludeContext): ExpandedFiles {
  const out: ExpandedFiles = { files: [], services: new Map(), includes: new Map() };
  let count = 0;
  // Files named by `extends: {file}` in included files, read once per environment they are read with.
  const extendsReads = new Map<Environment, Map<string, ComposeFile>>();
  const loaderFor = (env: Environment) => {
    let reads = extendsReads.get(env);
    if (!reads) extendsReads.set(env, (reads = new Map()));
    const cache = reads;
    return (path: string): ComposeFile => {
      let f = cache.get(path);
      if (!f) cache.set(path, (f = readComposeFile(path, { ...ctx.fileCtx, environment: env })));
      return f;
    };
  };

  const expand = (file: ComposeFile, dir: string, env: Environment, chain: readonly string[]): void => {
    const included: ComposeFile[] = [];
    entries(file).forEach((entry, i) => {
      const where = (...rest: (string | number)[]) => locationIn(file, ['include', i, ...rest]);
      const at = isPlainObject((file.doc['include'] as unknown[])[i]) ? where('path') : where();
      const paths = entry.paths.map((p) => expandPath(dir, p, ctx.home));
      const first = paths[0];
      if (first === undefined) throw new ConfigError('include: the entry names no file (path is empty)', at);
      if (chain.includes(first)) {
        throw new ConfigError(`include cycle: ${[...chain, first].join(' includes ')}`, at);
      }
      if (chain.length > MAX_INCLUDE_DEPTH) {
        throw new ConfigError(`include nests more than ${MAX_INCLUDE_DEPTH} levels deep; refusing it`, at);
      }
      const projectDir = entry.projectDirectory !== undefined ? resolve(dir, entry.projectDirectory) : dirname(first);
      let envFiles: string[];
      if (entry.envFiles !== undefined) {
        envFiles = entry.envFiles.filter((f) => f !== '/dev/null').map((f) => resolve(dir, f));
        const missing = envFiles.find((f) => !isFile(f));
        if (missing) throw new ConfigError(`include: env file ${missing} does not exist or is not a file`, where('env_file'));
      } else {
        const dotenv = resolve(projectDir, '.env');
        envFiles = isFile(dotenv) ? [dotenv] : [];
      }
      const innerEnv = env.beneath(envFiles, ctx.fileCtx.diagnostics);
      for (const path of paths) {
        if (++count > MAX_INCLUDED_FILES) throw new ConfigError(`include brings in more than ${MAX_INCLUDED_FILES} files; refusing it`, at);
        let read: ComposeFile;
        try {
          read = readComposeFile(path, { ...ctx.fileCtx, environment: innerEnv });
        } catch (e) {
          if (e instanceof InputFileError) throw new ConfigError(`cannot include ${path}: ${e.message}`, at);
          throw e;
        }
        if (isLegacy(read)) {
          throw new ConfigError(`cannot include ${path}: it is a v1 file (services at the top level); an included file puts them under "services"`, at);
        }
        const inc: ComposeFile = { ...read, included: { dir: projectDir } };
        included.push(inc);
        expand(inc, projectDir, innerEnv, [...chain, first]);
      }
    });
    out.includes.set(file, included);
    if (file.included) out.services.set(file, resolveServices(file, file.included.dir, loaderFor(env), ctx, out.includes));
    out.files.push(file);
  };

  for (const f of top) expand(f, workingDir, environment, [f.path]);
  return out;
}

/** An included file's services, each with its extends chain merged in and its paths made absolute. */
function resolveServices(
  file: ComposeFile,
  dir: string,
  loadFile: ExtendsContext['loadFile'],
  ctx: IncludeContext,
  includes: ExpandedFiles['includes'],
): Record<string, Dict> {
  const extendsCtx: ExtendsContext = {
    mainFile: file,
    loadFile,
    home: ctx.home,
    cwd: ctx.cwd,
    bases: new Map(),
    includes: (f) => (includes.get(f) ?? []).map((inc) => ({ file: inc, dir: inc.included?.dir ?? dir })),
  };
  const out: Record<string, Dict> = {};
  for (const [name, dict] of Object.entries(serviceDicts(file))) {
    try {
      const resolved = resolveExtends({ file, dir, name }, dict, extendsCtx);
      const { extends: _resolved, ...rest } = processService(resolved, { dir, home: ctx.home, cwd: ctx.cwd });
      setOwn(out, name, rest);
    } catch (e) {
      if (e instanceof ServiceProblem || e instanceof MergeProblem) throw new ConfigError(e.message, locationIn(file, servicePath(file, name, ...e.keyPath)));
      throw e;
    }
  }
  return out;
}
