/**
 * The Compose Specification keys the engines act on (issue 14), on dockerd and (run again with
 * FLOTILLA_E2E_ENGINE=embedded) on the embedded engine: what `up` warns it does not act on,
 * provider services left out, pids limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2eProject, SERVE } from './lib.js';

test('up warns once per key it does not act on, at the key, and leaves provider services out', (t) => {
  const p = e2eProject(t, 'spec', {
    'compose.yaml': `services:
  web:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      llm:
        condition: service_started
    develop:
      watch:
        - path: ./src
          action: sync
          target: /src
    models: [m]
    deploy:
      resources:
        limits:
          pids: 37
  llm:
    provider:
      type: model
      options:
        model: ai/smollm2
models:
  m:
    model: ai/smollm2
`,
  });
  if (!p) return;
  const r = p.ok(['up', '-d']);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('WARNING:'));
  // Services in dependency order (llm first), each one's keys in a fixed order.
  assert.deepEqual(warnings, [
    'WARNING: compose.yaml:19:5: services.llm.provider: service "llm" has a provider: Flotilla does not run provider services, so up leaves it out',
    'WARNING: compose.yaml:13:5: services.web.models: models are not run by Flotilla: the service gets no model endpoints',
    'WARNING: compose.yaml:8:5: services.web.develop: develop.watch is not acted on: up does not watch files',
  ]);
  assert.deepEqual(p.running(), [p.c('web')], 'the provider service has no container');
  const pids = p.ok(['exec', '-T', 'web', 'sh', '-c', 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max']).stdout.trim();
  assert.equal(pids, '37', 'deploy.resources.limits.pids is the container\'s pids limit');
});
