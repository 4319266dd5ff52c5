import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deployProblems } from '../../src/compose/emit/problems.js';
import { emitDeployment } from '../../src/compose/emit/deployment.js';
import type { ComposeProject, ComposeService } from '../../src/compose/document.js';

const project = (services: ComposeService[], networks: ComposeProject['networks'] = {}): ComposeProject => ({
  name: 'p', workingDir: '/p', configFiles: [], format: 'v3', version: '3.8', services, networks, volumes: {}, secrets: {}, configs: {},
});

test('what up refuses: undefined networks, container_name when scaled, scale with replicas, bad durations', () => {
  const problems = deployProblems(
    project(
      [
        { name: 'a', image: 'x', networks: { front: null, default: null, back: null } },
        { name: 'b', image: 'x', container_name: 'bee', deploy: { replicas: 3 } },
        { name: 'c', image: 'x', scale: 2, deploy: { replicas: 2 } },
        { name: 'd', image: 'x', stop_grace_period: '10 seconds', deploy: { restart_policy: { delay: 'soon' } } },
        { name: 'ok', image: 'x', container_name: 'single', stop_grace_period: '1m30s', networks: { front: null } },
      ],
      { front: {} },
    ),
  );
  assert.deepEqual(
    problems.map((p) => `${p.service}:${p.keyPath.join('.')}`),
    ['a:networks.back', 'b:container_name', 'c:scale', 'd:stop_grace_period', 'd:deploy.restart_policy.delay'],
  );
});

test('the default scale: scale, else replicas (capped per node), else 1; global mode is 1', () => {
  const scales = emitDeployment(
    project([
      { name: 'a', image: 'x', scale: 3 },
      { name: 'b', image: 'x', deploy: { replicas: 4 } },
      { name: 'c', image: 'x', deploy: { replicas: 4, placement: { max_replicas_per_node: 2 } } },
      { name: 'd', image: 'x', deploy: { mode: 'global', replicas: 4 } },
      { name: 'e', image: 'x' },
    ]),
    { cwd: '/p' },
  ).services.map((s) => s.scale);
  assert.deepEqual(scales, [3, 4, 2, 1, 1]);
});
