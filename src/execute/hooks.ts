/**
 * The Compose Specification's lifecycle hooks, as Compose v2 runs them (docker/compose
 * pkg/compose/hook.go): each hook of a service is an exec in the container, one after the other,
 * with the hook's user, privileged flag, working directory and environment. A hook that exits
 * non-zero fails what it belongs to: a post_start hook the container's start, a pre_stop hook its
 * stop. Each line a hook prints is shown as `<container> -> <line>`.
 *
 * Engine-neutral (only Engine.exec), so both engines run hooks the same way.
 */
import { isConflict, isNotFound } from '../contract/errors.js';
import { FlotillaError } from '../errors.js';
import type { LifecycleHook, Service } from '../model/service.js';
import { envList } from '../plan/container-spec.js';
import type { ProjectRuntime } from './runtime.js';

/** The container a hook runs in: a one-off container (run) runs none. */
export interface HookTarget {
  id: string;
  name: string;
  service: string;
  oneOff?: boolean;
}

function hooksOf(rt: ProjectRuntime, c: HookTarget): Service | undefined {
  return c.oneOff ? undefined : rt.deployment.services.find((s) => s.name === c.service);
}

/** Runs one hook-shaped command (a hook, a watch rule's `exec`) in a container; a non-zero exit rejects. */
export async function runHook(rt: ProjectRuntime, container: HookTarget, hook: LifecycleHook, kind: string): Promise<void> {
  const spec: Parameters<ProjectRuntime['engine']['exec']>[1] = {
    command: hook.command,
    env: envList(hook.environment),
    privileged: hook.privileged,
    tty: false,
    attachStdin: false,
    detach: false,
  };
  if (hook.user !== undefined) spec.user = hook.user;
  if (hook.workingDir !== undefined) spec.workingDir = hook.workingDir;
  const session = await rt.engine.exec(container.id, spec);
  let pending = '';
  const show = (text: string) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) rt.progress.line(`${container.name} -> ${line}`);
  };
  try {
    for await (const chunk of session.output) show(chunk.data.toString('utf8'));
    if (pending !== '') show('\n');
    const code = await session.exitCode();
    if (code !== 0) throw new FlotillaError(`${container.service} ${kind} hook exited with status ${code}`);
  } finally {
    session.close();
  }
}

/** Runs a started container's post_start hooks; the first that fails rejects. */
export async function runPostStart(rt: ProjectRuntime, container: HookTarget): Promise<void> {
  for (const hook of hooksOf(rt, container)?.postStart ?? []) await runHook(rt, container, hook, 'post_start');
}

/**
 * Runs a running container's pre_stop hooks before it is stopped; the first that fails rejects.
 * A container that stopped or went meanwhile has nothing to run them in (v2 goes on too).
 */
export async function runPreStop(rt: ProjectRuntime, container: HookTarget): Promise<void> {
  for (const hook of hooksOf(rt, container)?.preStop ?? []) {
    try {
      await runHook(rt, container, hook, 'pre_stop');
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
  }
}
