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
import { ConfigError, type SourceLocation } from '../errors.js';
import { isLegacy, locationIn, serviceDict, servicePath, type ComposeFile } from './compose-file.js';
import { InputFileError } from '../util/input-files.js';
import { mergeServiceDicts } from './merge.js';
import { dropReset } from './reset.js';
import { processService } from './service/process.js';
import { serviceReference } from './service/validate.js';
import { expandPath } from './syntax/paths.js';
import { isPlainObject, type KeyPath } from './yaml/read.js';

type Dict = Record<string, unknown>;
type Where = () => SourceLocation;

export interface ExtendsContext {
  mainFile: ComposeFile;
  /** Reads, interpolates and validates another file (cached by the caller). */
  loadFile(path: string): ComposeFile;
  home: string;
  cwd: string;
  /**
   * Bases already resolved and normalised, by file and service: each is worked out once per
   * project, however many services extend it or how long the chain is (it was once per step).
   */
  bases: Map<string, Dict>;
  /**
   * Where else `extends` without `file` looks when the file lacks the service (version-less files,
   * as Compose v2): the files it includes (./include.ts), and for the main file the other `-f`
   * files, each with the directory its paths start from.
   */
  includes?: (file: ComposeFile) => readonly { file: ComposeFile; dir: string }[];
  /** `!reset`/`!override` paths of the override files, which come after the base of a merged service. */
  overrideResets?: readonly KeyPath[];
}

interface Origin {
  /** The file the definition is read from, and its directory for relative paths. */
  file: ComposeFile;
  dir: string;
  name: string;
}

/** One definition in an extends chain, and what its `extends` names. */
interface Link {
  origin: Origin;
  dict: Dict;
  base?: { origin: Origin; path: string; where: Where };
}

const keyOf = (o: Origin): string => `${o.file.path}\0${o.name}`;

/**
 * The definition of `name` with its whole extends chain merged in (not yet normalised). The chain
 * is followed with a loop, not recursion, down to a definition without `extends` or a base
 * resolved before, then merged back up.
 */
export function resolveExtends(origin: Origin, dict: Dict, ctx: ExtendsContext): Dict {
  const chain: Link[] = [{ origin, dict }];
  const onChain = new Set([keyOf(origin)]);
  let below: Dict | undefined;
  for (let link = chain[0] as Link; 'extends' in link.dict; ) {
    const base = findBase(link, ctx);
    link.base = base;
    const key = keyOf(base.origin);
    if (onChain.has(key)) {
      const names = [...chain.map((l) => l.origin), base.origin].map((o, i) => `${i === 0 ? '' : 'extends '}${o.name} in ${o.file.path}`);
      throw new ConfigError(`circular extends: ${names.join(', ')}`, locationIn(base.origin.file, servicePath(base.origin.file, base.origin.name, 'extends')));
    }
    below = ctx.bases.get(key);
    if (below) break;
    onChain.add(key);
    link = { origin: base.origin, dict: serviceDict(base.origin.file, base.origin.name) as Dict };
    chain.push(link);
  }
  let resolved: Dict = dict;
  for (let i = chain.length - 1; i >= 0; i--) {
    const link = chain[i] as Link;
    resolved = link.dict;
    if (link.base && below) {
      checkExtendable(below, link.base.origin.name, link.base.path, link.base.where);
      // `!reset`/`!override` in the extending service drop what the base has there (compose-go extends.go).
      const name = link.origin.name;
      const resets = i === 0 ? [...link.origin.file.yaml.resetPaths, ...(ctx.overrideResets ?? [])] : link.origin.file.yaml.resetPaths;
      const base = dropReset({ [name]: below }, resets, 'services')[name] ?? {};
      resolved = mergeServiceDicts(base, link.dict, isLegacy(ctx.mainFile), ctx.mainFile.format.family === 'spec');
    }
    if (i > 0) {
      below = processService(resolved, { dir: link.origin.dir, home: ctx.home, cwd: ctx.cwd });
      ctx.bases.set(keyOf(link.origin), below);
    }
  }
  return resolved;
}

/** The file and service a definition's `extends` names, read and checked. */
function findBase(link: Link, ctx: ExtendsContext): { origin: Origin; path: string; where: Where } {
  const { origin } = link;
  const ext = link.dict['extends'];
  const spec = isPlainObject(ext) ? ext : { service: ext };
  const baseName = String(spec['service']);
  const where: Where = () => locationIn(origin.file, servicePath(origin.file, origin.name, 'extends'));
  let basePath: string;
  if (typeof spec['file'] === 'string') {
    basePath = expandPath(origin.dir, spec['file'], ctx.home);
  } else if (origin.file.path === '-') {
    throw new ConfigError(`extends in a file read from standard input needs 'file' (e.g. file: common.yml)`, where());
  } else {
    basePath = origin.file.path;
  }

  let baseFile: ComposeFile;
  if (basePath === ctx.mainFile.path) {
    baseFile = ctx.mainFile;
  } else if (basePath === origin.file.path) {
    baseFile = origin.file;
  } else {
    try {
      baseFile = ctx.loadFile(basePath);
    } catch (e) {
      // A file that cannot be read at all is reported at the `extends` that names it.
      if (e instanceof InputFileError) throw new ConfigError(`cannot extend service '${baseName}': ${e.message}`, where());
      throw e;
    }
    if (isLegacy(baseFile) !== isLegacy(ctx.mainFile)) {
      throw new ConfigError(
        `cannot extend a service in ${basePath}: its format (${baseFile.format.family}) does not match ${ctx.mainFile.path} (${ctx.mainFile.format.family})`,
        where(),
      );
    }
  }
  if (!serviceDict(baseFile, baseName)) {
    const inc = ctx.includes ? findIncluded(baseFile, baseName, ctx.includes, 0) : undefined;
    if (!inc) throw new ConfigError(`cannot extend service '${baseName}' in ${basePath}: no such service`, where());
    return { origin: { file: inc.file, dir: inc.dir, name: baseName }, path: inc.file.path, where };
  }
  return { origin: { file: baseFile, dir: baseFile.included?.dir ?? dirname(basePath), name: baseName }, path: basePath, where };
}

/** The first file, among those `file` includes (nested too) and then the others given, that defines `name`. */
function findIncluded(
  file: ComposeFile,
  name: string,
  includes: NonNullable<ExtendsContext['includes']>,
  depth: number,
): { file: ComposeFile; dir: string } | undefined {
  if (depth > 64) return undefined;
  const list = includes(file);
  for (const inc of list) {
    if (serviceDict(inc.file, name)) return inc;
    const nested = findIncluded(inc.file, name, includes, depth + 1);
    if (nested) return nested;
  }
  return undefined;
}

function checkExtendable(base: Dict, name: string, path: string, where: Where): void {
  const refuse = (what: string) => {
    throw new ConfigError(`cannot extend service '${name}' in ${path}: services with ${what} cannot be extended`, where());
  };
  if ('links' in base) refuse("'links'");
  if ('volumes_from' in base) refuse("'volumes_from'");
  if (typeof base['net'] === 'string' && base['net'].startsWith('container:')) refuse("'net: container'");
  if (serviceReference(base['network_mode']) !== undefined) refuse("'network_mode: service'");
  if ('depends_on' in base) refuse("'depends_on'");
}
