/**
 * The compiler's entry point: from a folder (or -f files) to a typed, validated, dependency-ordered
 * Project. Stages, in docker-compose 1.29.2's order:
 *
 *   discover files, .env, project name                         ./discover.ts
 *   per file: YAML, format, sections, interpolation, schema    ./compose-file.ts
 *   merge files: top-level resources, then services            ./resources.ts, ./merge.ts
 *   per service: extends, normalise, validate, finalise        ./extends.ts, ./service/*
 *   order by dependencies (cycles refused), named volumes      ../graph, below
 *
 * Nothing is printed: warnings go to the Diagnostics, errors are thrown as ConfigError.
 */
import { getOwn, setOwn } from '../util/own.js';
import { homedir } from 'node:os';
import { ConfigError, type SourceLocation } from '../errors.js';
import { Diagnostics } from '../diagnostics.js';
import type { Deployment } from '../model/deployment.js';
import type { ComposeProject, ComposeService } from './document.js';
import { DependencyCycleError } from '../graph/dependencies.js';
import { dependenciesOf, orderServices } from './dependencies.js';
import { isLegacy, locationIn, readComposeFile, serviceDicts, servicePath, type ComposeFile, type FileContext } from './compose-file.js';
import { resolveInputs, type ProjectInputs } from './discover.js';
import { readTextFile } from '../util/input-files.js';
import type { Environment } from './environment.js';
import { resolveExtends, type ExtendsContext } from './extends.js';
import { MergeProblem, mergeServiceFromFiles, mergeYaml } from './merge.js';
import { checkProjectSize } from './project-size.js';
import { nameFromFiles } from './project-name.js';
import { loadResources } from './resources.js';
import { expandIncludes } from './include.js';
import { dropReset } from './reset.js';
import { finalizeService } from './service/finalize.js';
import { processService, ServiceProblem } from './service/process.js';
import { validateService } from './service/validate.js';
import { emitDeployment } from './emit/deployment.js';
import { isPlainObject } from './yaml/read.js';
import type { Dialect } from './stack-dialect.js';

export interface LoadOptions extends ProjectInputs {
  /** --profile values; when absent, COMPOSE_PROFILES (shell or .env) decides. */
  profiles?: string[];
  /** false for `config --no-interpolate`. */
  interpolate?: boolean;
  /** Whether a missing build context is an error (commands that do not build pass false). */
  checkBuildContext?: boolean;
  readStdin?: () => string;
  /** `stack`: read the files as `docker stack deploy` does (./stack-dialect.ts). */
  dialect?: Dialect;
}

export interface LoadedProject {
  /** The Compose-shaped document (`config`, `bundle`). */
  project: ComposeProject;
  /** The typed model every later stage reads, made on first use (`config` never needs it). */
  deployment(): Deployment;
  diagnostics: Diagnostics;
  environment: Environment;
  /** Every file read, in merge order: `include`d files (marked `included`) before their includer. */
  files: readonly ComposeFile[];
  /** Profiles enabled by --profile or COMPOSE_PROFILES. */
  profiles: string[];
  /** Where a key of a service is written (for messages about the loaded project). */
  locateService(service: string, keyPath: (string | number)[]): SourceLocation;
}

type Dict = Record<string, unknown>;

export function loadProject(options: LoadOptions, diagnostics = new Diagnostics()): LoadedProject {
  const inputs = resolveInputs(options, diagnostics);
  const home = options.shell['HOME'] || homedir();
  const interpolate = options.interpolate ?? true;
  // Read first with warnings held back: a version-less project's name may change the environment
  // the files are interpolated with (projectEnvironment below), and then they are read again.
  const held = new Diagnostics();
  const fileCtx: FileContext = {
    environment: inputs.environment,
    diagnostics: held,
    interpolate,
    readStdin: once(options.readStdin ?? (() => readTextFile('-', 'Compose file'))),
  };
  if (options.dialect) fileCtx.dialect = options.dialect;
  const cache = new Map<string, ComposeFile>();
  const loadFile = (path: string): ComposeFile => {
    let f = cache.get(path);
    if (!f) {
      f = readComposeFile(path, fileCtx);
      cache.set(path, f);
    }
    return f;
  };
  let topFiles: ComposeFile[];
  try {
    topFiles = inputs.files.map(loadFile);
  } catch (e) {
    diagnostics.adopt(held);
    throw e;
  }
  fileCtx.diagnostics = diagnostics;
  const environment = projectEnvironment(topFiles, inputs, options.dialect ?? 'compose', interpolate);
  fileCtx.environment = environment;
  if (environment !== inputs.environment && topFiles.some((f) => JSON.stringify(f.yaml.value).includes('COMPOSE_PROJECT_NAME'))) {
    cache.clear();
    topFiles = inputs.files.map(loadFile);
  } else diagnostics.adopt(held);
  const main = topFiles[0] as ComposeFile;
  for (const f of topFiles.slice(1)) {
    if (isLegacy(f) !== isLegacy(main)) {
      throw new ConfigError(
        `format mismatch: ${main.path} is format ${main.format.family} but ${f.path} is format ${f.format.family}; files merged together must both be v1 or both be versioned`,
        { file: f.path, line: 1, column: 1 },
      );
    }
  }
  if (options.dialect === 'stack') checkSameVersion(topFiles);
  const legacy = isLegacy(main);
  const spec = main.format.family === 'spec';
  const paths = { workingDir: inputs.workingDir, home, cwd: options.cwd };
  // `include`d files join the list before the file that includes them (./include.ts).
  const expanded = legacy
    ? { files: topFiles, services: new Map<ComposeFile, Record<string, Dict>>(), includes: new Map<ComposeFile, ComposeFile[]>() }
    : expandIncludes(topFiles, inputs.workingDir, environment, { fileCtx, home, cwd: options.cwd });
  const files = expanded.files;

  // Services: each file's definitions merged onto the previous ones'.
  let merged: Record<string, Dict> | undefined;
  for (const f of files) {
    const next = expanded.services.get(f) ?? serviceDicts(f);
    if (!merged) {
      merged = next;
      continue;
    }
    merged = dropReset(merged, f.yaml.resetPaths, 'services');
    const out: Record<string, Dict> = {};
    for (const name of new Set([...Object.keys(merged), ...Object.keys(next)])) {
      try {
        setOwn(out, name, mergeServiceFromFiles(getOwn(merged, name) ?? {}, getOwn(next, name) ?? {}, legacy, spec));
      } catch (e) {
        if (e instanceof MergeProblem) throw new ConfigError(e.message, locateInFiles(files, name, e.keyPath));
        throw e;
      }
    }
    merged = out;
  }
  merged ??= {};
  const serviceNames = new Set(Object.keys(merged));
  const services: ComposeService[] = [];
  const extendsCtx: ExtendsContext = { mainFile: main, loadFile, home, cwd: options.cwd, bases: new Map() };
  if (spec) {
    const others = topFiles.slice(1).map((file) => ({ file, dir: inputs.workingDir }));
    extendsCtx.overrideResets = topFiles.slice(1).flatMap((f) => f.yaml.resetPaths);
    extendsCtx.includes = (f) => [
      ...(expanded.includes.get(f) ?? []).map((inc) => ({ file: inc, dir: inc.included?.dir ?? inputs.workingDir })),
      ...(f === main ? others : []),
    ];
  }
  for (const [name, dict] of Object.entries(merged)) {
    const where = (keyPath: (string | number)[]) => locateInFiles(files, name, keyPath);
    try {
      const resolved = resolveExtends({ file: main, dir: inputs.workingDir, name }, dict, extendsCtx);
      const processed = dropOptionalDependencies(name, processService(resolved, { dir: inputs.workingDir, home, cwd: options.cwd }), serviceNames, diagnostics, where);
      validateService(name, processed, { serviceNames, legacy, checkBuildContext: options.checkBuildContext ?? true });
      services.push(
        finalizeService(name, processed, {
          serviceNames,
          legacy,
          environment,
          shell: options.shell,
          diagnostics,
          interpolate,
          home,
          dir: inputs.workingDir,
        }),
      );
    } catch (e) {
      if (e instanceof ServiceProblem || e instanceof MergeProblem) throw new ConfigError(e.message, where(e.keyPath));
      throw e;
    }
  }

  let ordered: ComposeService[];
  try {
    ordered = orderServices(services);
  } catch (e) {
    if (e instanceof DependencyCycleError) {
      const [first = '', second = ''] = e.cycle;
      const service = services.find((s) => s.name === first);
      throw new ConfigError(e.message, locateInFiles(files, first, service ? dependencyKeyPath(service, second) : []));
    }
    throw e;
  }

  const volumes = loadResources(files, 'volumes', paths);
  if (!legacy) checkNamedVolumes(ordered, volumes, files);

  const project: ComposeProject = {
    name: (inputs.projectNameGiven ? undefined : nameFromFiles(files)) ?? inputs.projectName,
    workingDir: inputs.workingDir,
    configFiles: inputs.files,
    format: main.format.family,
    version: legacy ? '1' : (main.format.declared ?? '3.9'),
    services: ordered,
    networks: loadResources(files, 'networks', paths),
    volumes,
    secrets: loadResources(files, 'secrets', paths),
    configs: loadResources(files, 'configs', paths),
  };
  if (inputs.envFile !== undefined) project.environmentFile = inputs.envFile;
  if (spec) {
    // Top-level `x-` keys of the -f files (not included ones), as Compose v2 keeps them: merged
    // key by key, a later file's value over an earlier one's (compose-go override/merge.go).
    const extensions: Record<string, unknown> = {};
    for (const f of topFiles) {
      for (const [k, v] of Object.entries(f.doc)) if (k.startsWith('x-')) extensions[k] = Object.hasOwn(extensions, k) ? mergeYaml(extensions[k], v) : v;
    }
    if (Object.keys(extensions).length > 0) project.extensions = extensions;
  }
  checkProjectSize(project, (service) => locateInFiles(files, service, []));
  const profiles = options.profiles?.length
    ? options.profiles
    : (environment.get('COMPOSE_PROFILES') ?? '').split(',').filter((p) => p !== '');
  let deployment: Deployment | undefined;
  return {
    project,
    deployment: () => (deployment ??= emitDeployment(project, { cwd: options.cwd, variable: (name) => environment.get(name) })),
    diagnostics,
    environment,
    files,
    profiles,
    locateService: (service, keyPath) => locateInFiles(files, service, keyPath),
  };
}

/** Standard input is read once, however often the files are. */
function once(read: () => string): () => string {
  let text: string | undefined;
  return () => (text ??= read());
}

/**
 * Compose v2 sets COMPOSE_PROJECT_NAME to the project name it settled on before it interpolates
 * the files (compose-go loader.go projectName), so `${COMPOSE_PROJECT_NAME}` is the name even when
 * it comes from `-p`, the file's `name` or the directory. Only for version-less files (1.29.2 and
 * `docker stack` leave the variable as the shell has it). The -f files are read again with it only
 * when one mentions it.
 */
function projectEnvironment(files: readonly ComposeFile[], inputs: ReturnType<typeof resolveInputs>, dialect: Dialect, interpolate: boolean): Environment {
  const main = files[0] as ComposeFile;
  if (dialect !== 'compose' || !interpolate || main.format.family !== 'spec') return inputs.environment;
  const name = (inputs.projectNameGiven ? undefined : nameFromFiles(files)) ?? inputs.projectName;
  if (inputs.environment.get('COMPOSE_PROJECT_NAME') === name) return inputs.environment;
  return inputs.environment.with('COMPOSE_PROJECT_NAME', name);
}

/**
 * `depends_on` entries with `required: false` on a service no file defines: warned and left out,
 * as the issue asks (compose-go's loader refuses them; its `up` skips a missing optional one).
 */
function dropOptionalDependencies(
  name: string,
  service: Dict,
  serviceNames: ReadonlySet<string>,
  diagnostics: Diagnostics,
  where: (keyPath: (string | number)[]) => SourceLocation,
): Dict {
  const deps = service['depends_on'];
  if (!isPlainObject(deps)) return service;
  const missing = Object.keys(deps).filter((dep) => {
    const entry = deps[dep];
    const required = isPlainObject(entry) ? entry['required'] : undefined;
    return !serviceNames.has(dep) && (required === false || required === 'false');
  });
  if (missing.length === 0) return service;
  const kept: Dict = { ...deps };
  for (const dep of missing) {
    diagnostics.warn(`service "${name}" depends on "${dep}", which no file defines; the dependency is optional (required: false), so it is left out`, where(['depends_on', dep]));
    delete kept[dep];
  }
  const { depends_on: _dropped, ...rest } = service;
  return Object.keys(kept).length > 0 ? { ...rest, depends_on: kept } : rest;
}

/** The key of `service` that makes it depend on `on` (for a cycle, the key that closes it). */
function dependencyKeyPath(service: ComposeService, on: string): (string | number)[] {
  const link = (service.links ?? []).findIndex((l) => (l.split(':')[0] ?? l) === on);
  const from = (service.volumes_from ?? []).findIndex((v) => v.source === on);
  const kind = dependenciesOf(service).find((d) => d.service === on)?.kind ?? (from !== -1 ? 'volumes_from' : undefined);
  if (kind === 'depends_on') return ['depends_on', on];
  if (kind === 'links') return ['links', link];
  if (kind === 'volumes_from') return ['volumes_from', from];
  return kind ? [kind] : [];
}

/** docker stack deploy merges only files of one version (no version counts as 3.13). */
function checkSameVersion(files: readonly ComposeFile[]): void {
  const versionOf = (f: ComposeFile) => (f.format.declared === undefined || f.format.declared === '3' ? '3.13' : f.format.declared);
  const first = files[0] as ComposeFile;
  for (const f of files.slice(1)) {
    if (versionOf(f) !== versionOf(first)) {
      throw new ConfigError(
        `version mismatch: ${first.path} is version ${versionOf(first)} but ${f.path} is version ${versionOf(f)}; stack files merged together must have one version`,
        locationIn(f, Object.hasOwn(f.doc, 'version') ? ['version'] : []),
      );
    }
  }
}

/** Named volumes a service mounts must be declared under the top-level `volumes`. */
function checkNamedVolumes(services: readonly ComposeService[], declared: Record<string, unknown>, files: readonly ComposeFile[]): void {
  for (const s of services) {
    (s.volumes ?? []).forEach((v, i) => {
      if (v.type === 'volume' && v.source && !Object.hasOwn(declared, v.source)) {
        throw new ConfigError(
          `named volume "${v.source}" is used by service "${s.name}" but not declared under the top-level "volumes"`,
          locateInFiles(files, s.name, ['volumes', i]),
        );
      }
    });
  }
}

function pathExists(doc: unknown, path: readonly (string | number)[]): boolean {
  let node = doc;
  for (const seg of path) {
    if (Array.isArray(node) && typeof seg === 'number' && seg < node.length) node = node[seg];
    else if (isPlainObject(node) && typeof seg === 'string' && Object.hasOwn(node, seg)) node = node[seg];
    else return false;
  }
  return true;
}

/** Where a key of a service is written: the last file that sets it, else the last that defines the service. */
function locateInFiles(files: readonly ComposeFile[], service: string, keyPath: (string | number)[]): ReturnType<typeof locationIn> {
  for (let depth = keyPath.length; depth >= 0; depth--) {
    for (let i = files.length - 1; i >= 0; i--) {
      const f = files[i] as ComposeFile;
      const p = servicePath(f, service, ...keyPath.slice(0, depth));
      if (pathExists(f.doc, p)) return locationIn(f, servicePath(f, service, ...keyPath));
    }
  }
  const main = files[0] as ComposeFile;
  return locationIn(main, servicePath(main, service, ...keyPath));
}
