/**
 * Docker's restart rules: `no`, `always`, `unless-stopped`, `on-failure[:N]`; a stop or kill by the
 * user suspends them until the next start. Back-off: 100 ms, doubling up to one minute, back to
 * 100 ms once a run lasted 10 seconds.
 */
export interface RestartPolicy {
  name: string;
  maximumRetryCount: number;
}

export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
export const STABLE_RUN_MS = 10_000;

export interface ExitFacts {
  exitCode: number;
  restartCount: number;
  stoppedByUser: boolean;
  /** How long the run that just ended lasted. */
  ranForMs: number;
  /** The delay used before the previous restart (0 if none). */
  previousDelayMs: number;
}

/** The delay before restarting, or null when the container stays down. */
export function restartDelay(policy: RestartPolicy | undefined, facts: ExitFacts): number | null {
  if (!shouldRestart(policy, facts)) return null;
  if (facts.ranForMs >= STABLE_RUN_MS || facts.previousDelayMs === 0) return FIRST_DELAY_MS;
  return Math.min(facts.previousDelayMs * 2, MAX_DELAY_MS);
}

function shouldRestart(policy: RestartPolicy | undefined, facts: ExitFacts): boolean {
  if (!policy || facts.stoppedByUser) return false;
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return facts.exitCode !== 0 && (policy.maximumRetryCount <= 0 || facts.restartCount < policy.maximumRetryCount);
    default:
      return false;
  }
}

/** Whether a container comes back when the daemon (or the machine) starts again. */
export function restartsWithDaemon(policy: RestartPolicy | undefined, stoppedByUser: boolean): boolean {
  if (!policy) return false;
  if (policy.name === 'always') return true;
  return policy.name === 'unless-stopped' && !stoppedByUser;
}
