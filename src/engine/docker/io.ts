/** Streams of a container: logs, attach, exec. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttachOptions, ExecSpec, LogChunk, LogOptions, StreamSession } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { compareVersions, type DockerClient } from './client.js';
import { inspectContainerJson, waitContainer } from './containers.js';
import { seg } from './paths.js';
import { hijackedSession } from './session.js';
import { demultiplex, raw, untilAborted } from './streams.js';

const MULTIPLEXED = 'application/vnd.docker.multiplexed-stream';

export async function* containerLogs(client: DockerClient, id: string, options: LogOptions): AsyncGenerator<LogChunk> {
  const { signal } = options;
  if (signal?.aborted) return;
  const query = {
    stdout: true,
    stderr: true,
    follow: options.follow || undefined,
    tail: options.tail === undefined ? undefined : String(options.tail),
    timestamps: options.timestamps || undefined,
    since: options.since === undefined ? undefined : String(options.since),
    until: options.until === undefined ? undefined : String(options.until),
  };
  // Since API 1.42 the content type says whether the stream is multiplexed; before, only the
  // container's TTY setting does (asked in parallel with the logs).
  const labelled = compareVersions(await client.apiVersion(), '1.42') >= 0;
  let res;
  let tty: boolean;
  try {
    const request = client.streamGet(`/containers/${seg(id)}/logs`, signal ? { query, signal } : { query });
    if (labelled) {
      res = await request;
      tty = res.headers['content-type'] !== MULTIPLEXED;
    } else {
      const [r, info] = await Promise.all([request, inspectContainerJson(client, id)]);
      res = r;
      tty = info?.Config.Tty ?? false;
    }
  } catch (e) {
    if (signal?.aborted) return;
    throw e;
  }
  const body = res.body;
  yield* untilAborted(tty ? raw(body) : demultiplex(body), signal, () => res.destroy());
}

/**
 * Resizes, retrying for a moment: the engine answers the hijack before it starts the process, and
 * refuses to resize a process that is not running yet (the Docker CLI retries likewise).
 */
async function resizeSoon(call: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await call();
      return;
    } catch (e) {
      if (attempt >= 10 || !(e instanceof EngineError) || e.kind === 'not-found') throw e;
      await sleep(10 * (attempt + 1));
    }
  }
}

export async function attachContainer(client: DockerClient, id: string, options: AttachOptions): Promise<StreamSession> {
  const socket = await client.hijack('POST', `/containers/${seg(id)}/attach`, {
    query: { stream: true, stdin: options.stdin, stdout: true, stderr: true, detachKeys: options.detachKeys },
  });
  return hijackedSession(socket, {
    tty: options.tty,
    stdin: options.stdin,
    resize: (rows, columns) => resizeSoon(() => client.json('POST', `/containers/${seg(id)}/resize`, { query: { h: rows, w: columns } })),
    exitCode: () => waitContainer(client, id),
  });
}

/** The exec's exit code, once the engine has recorded it (it can lag the end of the output). */
async function execExitCode(client: DockerClient, execId: string): Promise<number> {
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    const j = await client.json<{ Running: boolean; ExitCode: number | null }>('GET', `/exec/${seg(execId)}/json`);
    if (j && !j.Running && j.ExitCode !== null) return j.ExitCode;
    await sleep(delay);
  }
}

export async function exec(client: DockerClient, id: string, spec: ExecSpec): Promise<StreamSession> {
  const created = await client.json<{ Id: string }>('POST', `/containers/${seg(id)}/exec`, {
    body: {
      AttachStdin: spec.attachStdin && !spec.detach,
      AttachStdout: !spec.detach,
      AttachStderr: !spec.detach,
      Tty: spec.tty,
      Cmd: spec.command,
      Env: spec.env,
      User: spec.user ?? '',
      WorkingDir: spec.workingDir ?? '',
      Privileged: spec.privileged,
    },
  });
  const execId = created?.Id;
  if (!execId) throw new EngineError('engine', 'the engine created no exec');
  const resize = (rows: number, columns: number) => resizeSoon(() => client.json('POST', `/exec/${seg(execId)}/resize`, { query: { h: rows, w: columns } }));
  if (spec.detach) {
    await client.json('POST', `/exec/${seg(execId)}/start`, { body: { Detach: true, Tty: spec.tty } });
    return {
      output: (async function* () {})(),
      input: null,
      resize,
      exitCode: () => execExitCode(client, execId),
      close: () => undefined,
    };
  }
  const socket = await client.hijack('POST', `/exec/${seg(execId)}/start`, { body: { Detach: false, Tty: spec.tty } });
  return hijackedSession(socket, { tty: spec.tty, stdin: spec.attachStdin, resize, exitCode: () => execExitCode(client, execId) });
}
