/**
 * An artificial CPU load for tests that must hold on a busy machine: busy-loop processes this test
 * process starts, and kills when the test ends (or, at the latest, when the process exits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import type { TestContext } from 'node:test';

/** Starts `count` busy loops (two per CPU by default); returns a function that stops them. */
export function startCpuHog(t: TestContext | null, count = 2 * cpus().length): () => void {
  const hogs: ChildProcess[] = [];
  for (let i = 0; i < count; i++) hogs.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  const stop = (): void => {
    for (const h of hogs) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
  };
  process.once('exit', stop);
  t?.after(stop);
  return stop;
}
