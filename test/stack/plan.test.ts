/** Deploy plans (src/stack/plan.ts): what is created, updated with which reasons, kept, removed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Service, ServiceSpec, StoredObject } from '../../src/contract/swarm.js';
import { describeAction, planDeploy, type PlanOptions } from '../../src/stack/plan.js';
import type { Observed } from '../../src/stack/observe.js';
import type { StackSpec } from '../../src/stack/spec.js';

const defaults: PlanOptions = { prune: false, keepScale: false, resolveImage: 'never' };

function spec(name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: `st_${name}`,
    labels: { 'com.docker.stack.namespace': 'st', 'com.docker.stack.image': 'app:1' },
    task: { container: { image: 'app:1', env: ['A=1'] }, resources: {}, placement: {}, networks: [{ target: 'st_default', aliases: [name] }] },
    mode: { kind: 'replicated', replicas: 2 },
    endpoint: {},
    ...extra,
  };
}

function stack(services: ServiceSpec[], extra: Partial<StackSpec> = {}): StackSpec {
  return {
    name: 'st',
    services: services.map((s) => ({ name: s.name.slice(3), spec: s, dependsOn: [] })),
    networks: [{ name: 'st_default', labels: { 'com.docker.stack.namespace': 'st' }, driver: 'overlay' }],
    externalNetworks: [],
    secrets: [],
    externalSecrets: [],
    configs: [],
    externalConfigs: [],
    ...extra,
  };
}

function existing(s: ServiceSpec, id: string, version = 7): Service {
  return { id, version, createdAt: '', updatedAt: '', spec: s, endpointPorts: [] };
}

function observed(services: Service[], extra: Partial<Observed> = {}): Observed {
  return {
    services,
    networks: new Map([['st_default', { id: 'n1', name: 'st_default', driver: 'overlay', scope: 'swarm', labels: {}, options: {}, internal: false, attachable: false, subnets: [] }]]),
    externalNetworks: new Map(),
    secrets: [],
    configs: [],
    ...extra,
  };
}

test('a new stack: every network and service is created', () => {
  const plan = planDeploy(stack([spec('web'), spec('api')]), { ...observed([]), networks: new Map() }, defaults);
  assert.deepEqual(plan.actions.map(describeAction), ['create network st_default', 'create service st_web', 'create service st_api']);
});

test('unchanged services are left alone; a changed one is updated at the version it was read, with what changed', () => {
  // The swarm returns what it filled in (1 replica, vip, stop-first...): not a change.
  const stored = spec('web', { update: { parallelism: 1, failureAction: 'pause', order: 'stop-first', maxFailureRatio: 0 }, endpoint: { mode: 'vip' } });
  const desiredWeb = spec('web', { update: { parallelism: 1, maxFailureRatio: 0 } });
  const changed = spec('api');
  changed.task.container.env = ['A=2'];
  const plan = planDeploy(stack([desiredWeb, changed]), observed([existing(stored, 'w1'), existing(spec('api'), 'a1', 12)]), defaults);
  assert.deepEqual(plan.actions.map(describeAction), ['leave service st_web: up to date', 'update service st_api: task.container.env: -A=1 +A=2']);
  const update = plan.actions[1];
  assert.ok(update?.kind === 'update-service');
  assert.equal(update.version, 12);
  assert.equal(update.id, 'a1');
});

test('--prune removes services no longer in the file; --keep-scale keeps the replicas a service has now', () => {
  const scaled = spec('web', { mode: { kind: 'replicated', replicas: 5 } });
  const opts = { ...defaults, prune: true, keepScale: true };
  const plan = planDeploy(stack([spec('web')]), observed([existing(scaled, 'w1'), existing(spec('old'), 'o1')]), opts);
  assert.deepEqual(plan.actions.map(describeAction), ['remove service st_old: not in the stack any more (--prune)', 'leave service st_web: up to date']);
  assert.deepEqual(plan.notes, ['st_web: replicas kept at 5 (--keep-scale; the file says 2)']);
  const without = planDeploy(stack([spec('web')]), observed([existing(scaled, 'w1'), existing(spec('old'), 'o1')]), defaults);
  assert.deepEqual(without.actions.map(describeAction), ['update service st_web: mode.replicas: 5 -> 2']);
});

test('an image pinned by an earlier deploy is kept while the file names the same image; forceUpdate is kept', () => {
  const pinned = spec('web');
  pinned.task.container.image = `app:1@sha256:${'d'.repeat(64)}`;
  pinned.task.forceUpdate = 3;
  for (const resolveImage of ['never', 'changed'] as const) {
    const plan = planDeploy(stack([spec('web')]), observed([existing(pinned, 'w1')]), { ...defaults, resolveImage });
    assert.deepEqual(plan.actions.map(describeAction), ['leave service st_web: up to date'], resolveImage);
  }
  const always = planDeploy(stack([spec('web')]), observed([existing(pinned, 'w1')]), { ...defaults, resolveImage: 'always' });
  const action = always.actions[0];
  assert.ok(action?.kind === 'update-service' && action.resolveImage && action.spec.task.forceUpdate === 3);
  const newImage = spec('web', { labels: { 'com.docker.stack.namespace': 'st', 'com.docker.stack.image': 'app:2' } });
  newImage.task.container.image = 'app:2';
  const changed = planDeploy(stack([newImage]), observed([existing(pinned, 'w1')]), { ...defaults, resolveImage: 'changed' });
  assert.ok(changed.actions[0]?.kind === 'update-service' && changed.actions[0].resolveImage);
});

test('what must exist is checked before anything is done; a changed config is refused', () => {
  const needs = stack([spec('web')], { externalNetworks: ['shared'], externalSecrets: ['key'], configs: [{ name: 'st_app', labels: {}, data: Buffer.from('new') }] });
  const config: StoredObject = { id: 'c1', version: 1, createdAt: '', updatedAt: '', name: 'st_app', labels: {}, data: Buffer.from('old') };
  assert.throws(
    () => planDeploy(needs, observed([], { configs: [config] }), defaults),
    (e: Error) =>
      /network "shared" is declared as external, but could not be found/.test(e.message) &&
      /secret "key" is declared as external, but could not be found/.test(e.message) &&
      /config "st_app" has changed, and a swarm config cannot change/.test(e.message),
  );
});

test('a network that differs from the file is said, not changed', () => {
  const s = stack([spec('web')], { networks: [{ name: 'st_default', labels: {}, driver: 'overlay', options: { 'com.docker.network.driver.mtu': '1400' } }] });
  const plan = planDeploy(s, observed([existing(spec('web'), 'w1')]), defaults);
  assert.deepEqual(plan.notes, ['network st_default differs from the file (option com.docker.network.driver.mtu (none) -> 1400); networks are not changed in place: remove the stack to recreate it']);
});
