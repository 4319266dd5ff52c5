/**
 * The one-line status `ps` shows ("Up 3 seconds (healthy)", "Exited (0) 2 minutes ago"), worded
 * as Docker words it so tools that read it see the same text from both engines.
 */
import type { ContainerRuntimeState } from './record.js';
import { humanDuration } from '../../util/human-duration.js';

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
