/**
 * `flotilla cp SERVICE:SRC DEST` and `flotilla cp SRC SERVICE:DEST`, as Compose v2's `cp`
 * (pkg/compose/cp.go) with docker cp's placement rules: the archive goes through the engine
 * (Docker's archive API, or the embedded daemon's), and where it lands follows from what the
 * destination is: an existing directory takes the source under its own name ("SRC/." copies the
 * contents), anything else is replaced by (or created as) the source. `--index N` picks one
 * container; without it a copy from a service reads its first container and a copy to a service
 * writes into all of them (`--all`: one-off containers too). `-L` follows a symlink named as the
 * source; `-a` gives the files the container user's owner. "-" as DEST writes the tar to stdout,
 * as SRC reads one from stdin.
 */
import { lstat, stat } from 'node:fs/promises';
import { dirname, basename, resolve as resolvePath, posix } from 'node:path';
import type { Command } from 'commander';
import type { ContainerPathStat, Engine } from '../../contract/engine.js';
import { archivePath, extractInto, namesContents } from '../../daemon/containers/archive.js';
import { FlotillaError, UsageError } from '../../errors.js';
import { observeContainers } from '../../execute/observe.js';
import type { ObservedContainer } from '../../plan/observed.js';
import { withRuntime } from '../project.js';
import type { CliContext, GlobalOptions } from '../context.js';

interface CpFlags {
  index?: string;
  all?: boolean;
  archive?: boolean;
  followLink?: boolean;
}

/** SERVICE:PATH, or a local path (absolute, "./"-relative, or without a ":"), as compose's splitCpArg. */
export function splitCpArg(arg: string): { service: string; path: string } {
  if (arg.startsWith('/')) return { service: '', path: arg };
  const colon = arg.indexOf(':');
  if (colon === -1 || arg.startsWith('.')) return { service: '', path: arg };
  return { service: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export interface CopyPlacement {
  /** The directory the archive is extracted into. */
  dir: string;
  /** The name the source's top entry gets there (null: its own). */
  name: string | null;
}

/**
 * Where a source lands, by docker cp's rules (archive.PrepareArchiveCopy): `exists`/`isDir`
 * describe the destination, `assertsDir` whether it was written with a trailing "/".
 */
export function placement(source: { isDir: boolean; contentsOnly: boolean }, dest: { path: string; exists: boolean; isDir: boolean }, split: (p: string) => [string, string]): CopyPlacement {
  const assertsDir = dest.path.endsWith('/') || namesContents(dest.path);
  const [parent, base] = split(dest.path.replace(/\/+$/, '') || '/');
  if (dest.exists && dest.isDir) return { dir: dest.path, name: null };
  if (dest.exists) {
    if (source.isDir) throw new FlotillaError(`cannot copy a directory to the file ${dest.path}`);
    return { dir: parent, name: base };
  }
  if (assertsDir && !source.isDir) throw new FlotillaError(`destination directory ${dest.path} does not exist`);
  return { dir: parent, name: base };
}

const localSplit = (p: string): [string, string] => [dirname(p), basename(p)];
const containerSplit = (p: string): [string, string] => [posix.dirname(p), posix.basename(p)];

function required<K extends 'statContainerPath' | 'containerArchive' | 'extractToContainer'>(engine: Engine, method: K): NonNullable<Engine[K]> {
  const fn = engine[method];
  if (!fn) throw new FlotillaError('this engine cannot copy files into or out of containers');
  return fn.bind(engine) as NonNullable<Engine[K]>;
}

/** A local path made absolute, keeping a trailing "/" or "/." (they mean something to cp). */
function absoluteLocal(cwd: string, path: string): string {
  const abs = resolvePath(cwd, path);
  if (namesContents(path)) return `${abs}/.`;
  return path.endsWith('/') && abs !== '/' ? `${abs}/` : abs;
}

async function localStat(path: string): Promise<{ exists: boolean; isDir: boolean }> {
  try {
    return { exists: true, isDir: (await stat(path)).isDirectory() };
  } catch {
    return { exists: false, isDir: false };
  }
}

async function copyFromContainer(ctx: CliContext, engine: Engine, container: ObservedContainer, src: string, dest: string, flags: CpFlags): Promise<void> {
  let source = src;
  let rename: string | undefined;
  if (flags.followLink) {
    const st = await required(engine, 'statContainerPath')(container.id, src);
    if (st?.type === 'symlink') {
      source = st.linkTarget.startsWith('/') ? st.linkTarget : posix.join(posix.dirname(src), st.linkTarget);
      rename = posix.basename(src.replace(/\/+$/, ''));
    }
  }
  const st = await required(engine, 'statContainerPath')(container.id, source);
  if (!st) throw new FlotillaError(`Could not find the file ${src} in container ${container.name}`);
  const archive = required(engine, 'containerArchive')(container.id, source);
  if (dest === '-') {
    for await (const chunk of archive) ctx.stdout.write(chunk);
    return;
  }
  const isDir = st.type === 'directory';
  const contentsOnly = isDir && namesContents(source);
  const top = contentsOnly ? '' : posix.basename(source.replace(/\/+$/, '')) || '/';
  const target = absoluteLocal(ctx.cwd, dest);
  const where = placement({ isDir, contentsOnly }, { path: target, ...(await localStat(target)) }, localSplit);
  const name = where.name ?? rename ?? (contentsOnly ? null : top);
  const dirStat = await localStat(where.dir);
  if (!dirStat.isDir) throw new FlotillaError(`${where.dir}: no such directory`);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await extractInto({ rootfs: where.dir, mounts: [], unreachable: [] }, '/', archive, {
    owner: { uid, gid },
    ...(name !== null && name !== top ? { rename: { from: top, to: name } } : {}),
  });
}

async function copyToContainer(ctx: CliContext, engine: Engine, container: ObservedContainer, src: string, dest: string, flags: CpFlags): Promise<void> {
  const statPath = required(engine, 'statContainerPath');
  let destPath = dest;
  let st: ContainerPathStat | null = await statPath(container.id, dest);
  if (st?.type === 'symlink') {
    destPath = st.linkTarget.startsWith('/') ? st.linkTarget : posix.join(posix.dirname(dest), st.linkTarget);
    st = await statPath(container.id, destPath);
  }
  if (st && st.type !== 'directory' && st.type !== 'file') throw new FlotillaError(`destination "${container.name}:${dest}" must be a directory or a regular file`);
  const extract = required(engine, 'extractToContainer');
  const options = { copyUIDGID: flags.archive === true };
  if (src === '-') {
    if (st?.type !== 'directory') throw new FlotillaError(`destination "${container.name}:${dest}" must be a directory`);
    await extract(container.id, destPath, process.stdin, options);
    return;
  }
  const local = absoluteLocal(ctx.cwd, src);
  let isDir: boolean;
  try {
    isDir = (flags.followLink ? await stat(local) : await lstat(local)).isDirectory();
  } catch {
    throw new FlotillaError(`could not find the file ${src}: no such file or directory`);
  }
  const contentsOnly = isDir && namesContents(local);
  const where = placement({ isDir, contentsOnly }, { path: destPath, exists: st !== null, isDir: st?.type === 'directory' }, containerSplit);
  const view = { rootfs: '/', mounts: [], unreachable: [] };
  const name = where.name ?? undefined;
  const tar = await archivePath(view, local, { followLast: flags.followLink === true, ...(name !== undefined ? { name } : {}) });
  await extract(container.id, where.dir, tar, options);
}

export function registerCp(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('cp')
    .description('Copy files or folders between a service container and the local filesystem')
    .usage('[options] SERVICE:SRC_PATH DEST_PATH|-\n       flotilla cp [options] SRC_PATH|- SERVICE:DEST_PATH')
    .argument('<source>')
    .argument('<destination>')
    .option('--index <n>', 'index of the container if the service has several')
    .option('--all', 'include the containers made by run')
    .option('-a, --archive', 'archive mode: the files get the container user as owner')
    .option('-L, --follow-link', 'always follow a symbolic link in SRC_PATH')
    .action((source: string, destination: string, flags: CpFlags) =>
      withRuntime(ctx, global(), {}, async (rt) => {
        const from = splitCpArg(source);
        const to = splitCpArg(destination);
        if (from.service && to.service) throw new UsageError('copying between services is not supported');
        if (!from.service && !to.service) throw new UsageError('one of the paths must name a service: SERVICE:PATH');
        const service = from.service || to.service;
        if (!rt.deployment.services.some((s) => s.name === service)) throw new UsageError(`no such service: ${service}`);
        if (flags.index !== undefined && !/^\d+$/.test(flags.index)) throw new UsageError(`invalid --index "${flags.index}"`);
        const index = flags.index === undefined ? 0 : Number(flags.index);
        const all = (await observeContainers(rt.engine, rt.deployment.name))
          .filter((c) => c.service === service)
          .sort((a, b) => Number(a.oneOff) - Number(b.oneOff) || a.number - b.number || (a.name < b.name ? -1 : 1));
        let targets: ObservedContainer[];
        if (index > 0) {
          const one = all.find((c) => !c.oneOff && c.number === index);
          if (!one) throw new FlotillaError(`service "${service}" is not running container #${index}`);
          targets = [one];
        } else {
          targets = all.filter((c) => flags.all === true || !c.oneOff);
          if (targets.length === 0) throw new FlotillaError(`no container found for service "${service}"`);
          if (from.service) targets = targets.slice(0, 1);
        }
        for (const c of targets) {
          if (from.service) await copyFromContainer(ctx, rt.engine, c, from.path, to.path, flags);
          else await copyToContainer(ctx, rt.engine, c, from.path, to.path, flags);
          ctx.stderr.write(from.service ? `Copied ${c.name}:${from.path} to ${to.path}\n` : `Copied ${from.path} to ${c.name}:${to.path}\n`);
        }
      }),
    );
}
