/**
 * `extends`: a service starts from another service's definition, in the same file or another one,
 * as docker-compose 1.29.2 resolves it:
 * - `extends: NAME` or `{service: NAME, file: PATH}`; PATH is relative to the extending
 *   service's directory; without `file` the service is looked up in the main (first) file;
 * - the base is resolved first (chains work), normalised with its own file's directory (so its
 *   relative paths stay relative to its file), then the extending definition is merged onto it;
 * - a base with links, volumes_from, depends_on, `net: container:` or `network_mode: service:`
 *   cannot be extended; cycles are refused with the whole chain.
 */
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { isLegacy, locationIn, serviceDicts, servicePath, type ComposeFile } from './compose-file.js';
import { InputFileError } from './files.js';
import { mergeServiceDicts } from './merge.js';
import { processService, type ProcessContext } from './service/process.js';
import { serviceReference } from './service/validate.js';
import { expandPath } from './syntax/volumes.js';
import { isPlainObject } from './yaml/read.js';

type Dict = Record<string, unknown>;

export interface ExtendsContext {
  mainFile: ComposeFile;
  /** Reads, interpolates and validates another file (cached by the caller). */
  loadFile(path: string): ComposeFile;
  home: string;
  cwd: string;
}

interface Origin {
  /** The file the definition is read from, and its directory for relative paths. */
  file: ComposeFile;
  dir: string;
  name: string;
}

/** The definition of `name` with its whole extends chain merged in (not yet normalised). */
export function resolveExtends(origin: Origin, dict: Dict, ctx: ExtendsContext, seen: Origin[] = []): Dict {
  if (seen.some((o) => o.file.path === origin.file.path && o.name === origin.name)) {
    const chain = [...seen, origin].map((o, i) => `${i === 0 ? '' : 'extends '}${o.name} in ${o.file.path}`);
    throw new ConfigError(`circular extends: ${chain.join(', ')}`, locationIn(origin.file, servicePath(origin.file, origin.name, 'extends')));
  }
  if (!('extends' in dict)) return dict;

  const ext = dict['extends'];
  const spec = isPlainObject(ext) ? ext : { service: ext };
  const baseName = String(spec['service']);
  const where = locationIn(origin.file, servicePath(origin.file, origin.name, 'extends'));
  let basePath: string;
  if (typeof spec['file'] === 'string') {
    basePath = expandPath(origin.dir, spec['file'], ctx.home);
  } else if (origin.file.path === '-') {
    throw new ConfigError(`extends in a file read from standard input needs 'file' (e.g. file: common.yml)`, where);
  } else {
    basePath = origin.file.path;
  }

  let baseFile: ComposeFile;
  if (basePath === ctx.mainFile.path) {
    baseFile = ctx.mainFile;
  } else {
    try {
      baseFile = ctx.loadFile(basePath);
    } catch (e) {
      // A file that cannot be read at all is reported at the `extends` that names it.
      if (e instanceof InputFileError) throw new ConfigError(`cannot extend service '${baseName}': ${e.message}`, where);
      throw e;
    }
    if (isLegacy(baseFile) !== isLegacy(ctx.mainFile)) {
      throw new ConfigError(
        `cannot extend a service in ${basePath}: its format (${baseFile.format.family}) does not match ${ctx.mainFile.path} (${ctx.mainFile.format.family})`,
        where,
      );
    }
  }
  const baseDict = serviceDicts(baseFile)[baseName];
  if (!baseDict) throw new ConfigError(`cannot extend service '${baseName}' in ${basePath}: no such service`, where);

  const baseOrigin: Origin = { file: baseFile, dir: dirname(basePath), name: baseName };
  const resolvedBase = resolveExtends(baseOrigin, baseDict, ctx, [...seen, origin]);
  const processCtx: ProcessContext = { dir: baseOrigin.dir, home: ctx.home, cwd: ctx.cwd };
  const base = processService(resolvedBase, processCtx);
  checkExtendable(base, baseName, basePath, where);
  return mergeServiceDicts(base, dict, isLegacy(ctx.mainFile));
}

function checkExtendable(base: Dict, name: string, path: string, where: ReturnType<typeof locationIn>): void {
  const refuse = (what: string) => {
    throw new ConfigError(`cannot extend service '${name}' in ${path}: services with ${what} cannot be extended`, where);
  };
  if ('links' in base) refuse("'links'");
  if ('volumes_from' in base) refuse("'volumes_from'");
  if (typeof base['net'] === 'string' && base['net'].startsWith('container:')) refuse("'net: container'");
  if (serviceReference(base['network_mode']) !== undefined) refuse("'network_mode: service'");
  if ('depends_on' in base) refuse("'depends_on'");
}
