/**
 * The one-line status `ps` shows ("Up 3 seconds (healthy)", "Exited (0) 2 minutes ago"), worded
 * as Docker words it so tools that read it see the same text from both engines.
 */
import type { ContainerRuntimeState } from './record.js';

export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.round(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.round(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.round(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.round(hours / 24 / 30)} months`;
  return `${Math.round(hours / 24 / 365)} years`;
}

export function statusText(state: ContainerRuntimeState, now = Date.now()): string {
  switch (state.status) {
    case 'created':
      return 'Created';
    case 'running':
    case 'paused': {
      const up = `Up ${humanDuration(now - Date.parse(state.startedAt))}`;
      if (state.status === 'paused') return `${up} (Paused)`;
      return state.health ? `${up} (${state.health.status === 'starting' ? 'health: starting' : state.health.status})` : up;
    }
    case 'restarting':
      return `Restarting (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      return `Exited (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
  }
}
