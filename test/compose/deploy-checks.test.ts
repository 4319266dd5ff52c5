import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultScale, deployProblems } from '../../src/compose/deploy-checks.js';
import type { Project, Service } from '../../src/model/project.js';

const project = (services: Service[], networks: Project['networks'] = {}): Project => ({
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
  assert.equal(defaultScale({ name: 'a', scale: 3 }), 3);
  assert.equal(defaultScale({ name: 'a', deploy: { replicas: 4 } }), 4);
  assert.equal(defaultScale({ name: 'a', deploy: { replicas: 4, placement: { max_replicas_per_node: 2 } } }), 2);
  assert.equal(defaultScale({ name: 'a', deploy: { mode: 'global', replicas: 4 } }), 1);
  assert.equal(defaultScale({ name: 'a' }), 1);
});
