/**
 * Copying changed host files into a service's running containers (watch's `sync` actions), as
 * Compose v2's tar syncer does: paths gone from the host are removed in the container by an exec
 * of `rm -rf`, the others are sent as one tar archive extracted at `/` (a directory with
 * everything under it) through the engine's archive API (both engines have it), the files owned
 * by the container's user as v2 does; an engine without one gets an exec of `tar -x`.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FlotillaError } from '../errors.js';
import { packTar, type PackItem } from '../util/tar-pack.js';
import type { ProjectRuntime } from './runtime.js';
import type { PathMapping } from './watch-rules.js';

/** What a failed exec printed, kept short for its one-line error. */
const OUTPUT_LIMIT = 2000;

async function execIn(rt: ProjectRuntime, containerId: string, command: string[], input?: AsyncIterable<Buffer>): Promise<void> {
  const session = await rt.engine.exec(containerId, { command, env: [], privileged: false, tty: false, attachStdin: input !== undefined, detach: false });
  let output = '';
  try {
    const feeding = (async () => {
      if (!input || !session.input) return;
      const sink = session.input;
      for await (const chunk of input) {
        if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
      }
      sink.end();
    })();
    const reading = (async () => {
      for await (const chunk of session.output) if (output.length < OUTPUT_LIMIT) output += chunk.data.toString('utf8');
    })();
    await Promise.all([feeding, reading]);
    const code = await session.exitCode();
    if (code !== 0) throw new FlotillaError(`${command[0]} exited with status ${code}${output.trim() ? `: ${output.trim().split('\n').join(' | ')}` : ''}`);
  } finally {
    session.close();
  }
}

/** The archive entries of a host path at a container path: a directory with everything under it. */
async function* entries(hostPath: string, containerPath: string): AsyncGenerator<PackItem> {
  let st;
  try {
    st = await lstat(hostPath);
  } catch {
    return; // gone since the batch was made: the next batch removes it
  }
  const name = containerPath.replace(/^\/+/, '');
  const base = { name, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), uid: st.uid, gid: st.gid };
  if (st.isDirectory()) {
    yield { entry: { ...base, type: 'directory' } };
    const children = await readdir(hostPath).catch(() => [] as string[]);
    for (const child of children.sort()) yield* entries(join(hostPath, child), `${containerPath}/${child}`);
  } else if (st.isSymbolicLink()) {
    yield { entry: { ...base, type: 'symlink', linkName: await readlink(hostPath) } };
  } else if (st.isFile()) {
    const body = await readFile(hostPath).catch(() => null);
    if (body !== null) yield { entry: { ...base, type: 'file', size: body.length }, body };
  }
}

/** The entries, each path's parent directories first (an archive API extracts into existing directories only). */
async function* archiveItems(mappings: readonly PathMapping[]): AsyncGenerator<PackItem> {
  const made = new Set<string>();
  const mtime = Math.floor(Date.now() / 1000);
  for (const m of mappings) {
    const parts = m.containerPath.split('/').filter((x) => x !== '');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (made.has(dir)) continue;
      made.add(dir);
      yield { entry: { name: dir, type: 'directory', mode: 0o755, mtime } };
    }
    yield* entries(m.hostPath, m.containerPath);
  }
}

/** Whether a host path exists (a dangling symlink counts). */
async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Syncs `mappings` into each container; every container is tried, and the failures are reported
 * together (as Compose v2 collects them).
 */
export async function syncInto(rt: ProjectRuntime, containers: readonly { id: string; name: string }[], mappings: readonly PathMapping[]): Promise<void> {
  const unique = [...new Map(mappings.map((m) => [m.containerPath, m])).values()];
  const present: PathMapping[] = [];
  const gone: string[] = [];
  for (const m of unique) (await exists(m.hostPath)) ? present.push(m) : gone.push(m.containerPath);
  const failures: string[] = [];
  await Promise.all(
    containers.map((c) =>
      rt.limiter.run(async () => {
        try {
          if (gone.length > 0) await execIn(rt, c.id, ['rm', '-rf', '--', ...gone]);
          if (present.length === 0) return;
          // The engine's archive API where it has one (as v2's CopyToContainer), else tar in the container.
          if (rt.engine.extractToContainer) await rt.engine.extractToContainer(c.id, '/', packTar(archiveItems(present)), { copyUIDGID: true });
          else await execIn(rt, c.id, ['tar', '-x', '-f', '-', '-C', '/'], packTar(archiveItems(present)));
        } catch (e) {
          failures.push(`${c.name}: ${(e as Error).message}`);
        }
      }),
    ),
  );
  if (failures.length > 0) throw new FlotillaError(`sync failed in ${failures.sort().join('; ')}`);
}
