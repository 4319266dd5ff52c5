/**
 * A Docker Swarm of its own for a test file (scripts/swarm-lab): one or more dockerds in network
 * namespaces, made before the file's tests and destroyed after them, even when they fail; if the
 * test process dies without cleaning up, the next lab's `gc` removes the leftovers (the lab names
 * this process as its owner). The machine's own dockerd is never touched.
 *
 * Needs root, dockerd, tini and Docker CLI 28 (the reference `docker stack deploy`); without them
 * the file's tests are skipped, except in CI (FLOTILLA_CI=1), where they fail.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { ROOT } from './cli.js';

export const LAB_SCRIPT = join(ROOT, 'scripts', 'swarm-lab');
/** The image every lab node has (made offline from busybox-static). */
export const LAB_IMAGE = 'flotilla-lab/busybox:1';
/** Docker's CLI, for the reference `docker stack deploy` (FLOTILLA_DOCKER_CLI overrides it). */
export const DOCKER_CLI = process.env['FLOTILLA_DOCKER_CLI'] ?? '/usr/local/bin/docker';

export interface SwarmLab {
  dir: string;
  nodes: number;
  /** `unix://.../nI/docker.sock` of node I (1-based). */
  host(node?: number): string;
  /** The environment a CLI run talks to node I with. */
  env(node?: number): Record<string, string>;
  /** Runs Docker's CLI against node I. */
  docker(args: string[], options?: { node?: number; input?: string; cwd?: string; env?: Record<string, string> }): SpawnSyncReturns<string>;
  /** Runs the lab script (`kill 3`, `start 3`, `net 1 wget ...`). */
  script(args: string[]): SpawnSyncReturns<string>;
  down(): void;
}

let availability: string | undefined | null = null;

/** Why a lab cannot run here, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (availability !== null) return availability;
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const bin of ['dockerd', 'tini', 'nsenter', 'unshare']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) missing.push(bin);
  }
  if (!existsSync(DOCKER_CLI)) missing.push(`Docker CLI 28 at ${DOCKER_CLI} (or FLOTILLA_DOCKER_CLI)`);
  availability = missing.length > 0 ? `needs ${missing.join(', ')}` : undefined;
  return availability;
}

/** True when the lab can run; otherwise skips the test (fails it in CI). */
export function requireLab(t: TestContext): boolean {
  const why = labUnavailable();
  if (why === undefined) return true;
  if (process.env['FLOTILLA_CI'] === '1') throw new Error(`the swarm tests ${why} in CI`);
  t.skip(`swarm lab ${why}`);
  return false;
}

function run(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(LAB_SCRIPT, args, {
    encoding: 'utf8',
    env: { ...process.env, FLOTILLA_LAB_OWNER: String(process.pid), DOCKER: DOCKER_CLI, ...env },
    timeout: 300_000,
  });
}

export function startLab(nodes: number, managers = 1): SwarmLab {
  // Labs of test runs that died before cleaning up.
  run(['gc']);
  const dir = mkdtempSync('/tmp/fsw.');
  const up = run(['up', dir, String(nodes), String(managers)]);
  if (up.status !== 0) throw new Error(`swarm-lab up failed (${up.status}): ${up.stderr.trim()}`);
  let destroyed = false;
  const lab: SwarmLab = {
    dir,
    nodes,
    host: (node = 1) => `unix://${dir}/n${node}/docker.sock`,
    env: (node = 1) => ({ DOCKER_HOST: `unix://${dir}/n${node}/docker.sock` }),
    docker: (args, options = {}) =>
      spawnSync(DOCKER_CLI, args, {
        encoding: 'utf8',
        cwd: options.cwd ?? dir,
        input: options.input ?? '',
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, DOCKER_HOST: `unix://${dir}/n${options.node ?? 1}/docker.sock`, ...options.env },
        timeout: 120_000,
      }),
    script: (args) => run([args[0] as string, dir, ...args.slice(1)]),
    down: () => {
      if (destroyed) return;
      destroyed = true;
      const r = run(['down', dir]);
      if (r.status !== 0) throw new Error(`swarm-lab down failed: ${r.stderr}`);
    },
  };
  process.once('exit', () => lab.down());
  return lab;
}

/**
 * A lab for the file that calls this at its top level: made before its tests (when the lab can
 * run here), destroyed after them. Returns a getter (undefined when no lab could be made).
 */
export function useSwarmLab(nodes: number, managers = 1): () => SwarmLab | undefined {
  let lab: SwarmLab | undefined;
  if (labUnavailable() === undefined) {
    before(() => {
      lab = startLab(nodes, managers);
    });
    after(() => lab?.down());
  }
  return () => lab;
}
