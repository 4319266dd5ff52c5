/**
 * Golden tests of the planner: plans made from a Compose file and an observed state, compared as
 * the text `up --dry-run` prints (src/plan/plan.ts renderPlan).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerState, ImageInfo } from '../../src/contract/engine.js';
import { loadProject } from '../../src/compose/load.js';
import type { Deployment } from '../../src/model/deployment.js';
import { FlotillaError } from '../../src/errors.js';
import { configHash } from '../../src/plan/config-hash.js';
import { planDown, planRestart, planStop } from '../../src/plan/down.js';
import type { Observed, ObservedContainer } from '../../src/plan/observed.js';
import { renderPlan } from '../../src/plan/plan.js';
import { planUp, type UpPlanOptions } from '../../src/plan/up.js';
import { projectDir } from '../helpers/tmp.js';

const FILE = `services:
  db:
    image: postgres:15
    healthcheck: {test: ["CMD", "true"], interval: 1s}
    volumes: [data:/var/lib/postgresql/data]
  api:
    build: ./api
    depends_on: {db: {condition: service_healthy}}
  web:
    image: nginx:1
    ports: ["8080:80"]
    depends_on: [api]
  worker:
    image: nginx:1
    depends_on: {api: {condition: service_started}}
    scale: 1
volumes: {data: {}}
`;

function deployment(t: Parameters<typeof projectDir>[0], file = FILE): Deployment {
  const dir = projectDir(t, { 'compose.yml': file, 'api/Dockerfile': 'FROM scratch\n' });
  return loadProject({ cwd: dir, shell: { HOME: '/home/u' }, projectName: 'demo' }).deployment();
}

const image = (id: string): ImageInfo => ({ id, repoTags: [], repoDigests: [], created: '', size: 0, labels: {}, config: { env: [], cmd: null, entrypoint: null, workingDir: '', user: '', exposedPorts: [], volumes: [] } });

function container(name: string, service: string, number: number, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  const state: ContainerState = extra.state ?? 'running';
  return { id: `id-${name}`, name, service, number, oneOff: false, configHash: undefined, configLabel: undefined, running: state === 'running', state, status: '', created: number, labels: {}, image: '', unheldPorts: [], ...extra };
}

const OPTIONS: UpPlanOptions = { strategy: 'changed', alwaysRecreateDeps: false, scale: {}, removeOrphans: false, build: 'when-missing', renewAnonymousVolumes: false, start: true };

const nothing = (): Observed => ({ containers: [], images: new Map(), networks: new Map(), volumes: new Map() });

test('up on an empty engine: pulls first, then networks, volumes and builds, then containers in dependency order, a wait for a healthy dependency', (t) => {
  const d = deployment(t);
  assert.deepEqual(renderPlan(planUp(d, d.services, nothing(), OPTIONS)), [
    'pull postgres:15 for db: image not on the engine',
    'pull nginx:1 for web: image not on the engine',
    'pull nginx:1 for worker: image not on the engine',
    'create network demo_default: not on the engine (after pull postgres:15 for db; pull nginx:1 for web; pull nginx:1 for worker)',
    'create volume demo_data: not on the engine (after pull postgres:15 for db; pull nginx:1 for web; pull nginx:1 for worker)',
    'build demo_api for api: image not built yet (after pull postgres:15 for db; pull nginx:1 for web; pull nginx:1 for worker; create network demo_default)',
    'create demo_db_1: no container yet (after pull postgres:15 for db; pull nginx:1 for web; pull nginx:1 for worker; create network demo_default; create volume demo_data; build demo_api for api)',
    'wait for db to be healthy: api depends on it (after create demo_db_1)',
    'create demo_api_1: no container yet (after pull postgres:15 for db; pull nginx:1 for web; pull nginx:1 for worker; create network demo_default; create volume demo_data; build demo_api for api; wait for db to be healthy)',
    'create demo_web_1: no container yet (after pull postgres:15 for db; pull nginx:1 for web; pull nginx:1 for worker; create network demo_default; create volume demo_data; build demo_api for api; create demo_api_1)',
    'create demo_worker_1: no container yet (after pull postgres:15 for db; pull nginx:1 for web; pull nginx:1 for worker; create network demo_default; create volume demo_data; build demo_api for api; create demo_api_1)',
  ]);
});

test('up on a running project: a changed service is recreated, saying what changed; scale down, orphans, up-to-date ones left alone', (t) => {
  const d = deployment(t);
  const observed = nothing();
  for (const [ref, id] of [['postgres:15', 'sha256:pg'], ['nginx:1', 'sha256:ngx'], ['demo_api', 'sha256:api']] as const) observed.images.set(ref, image(id));
  observed.networks.set('demo_default', { id: 'n1', name: 'demo_default', driver: 'bridge', labels: {}, internal: false, containers: {}, options: {}, ipam: undefined });
  observed.volumes.set('demo_data', { name: 'demo_data', driver: 'local', labels: {}, mountpoint: '/v', options: {} });
  const hashes = new Map(
    d.services.map((s) => [s.name, configHash(s.configHash, { imageId: observed.images.get(s.image)?.id ?? null, containerIdOf: () => null })]),
  );
  const current = (service: string) => ({ configHash: hashes.get(service)?.hash, configLabel: hashes.get(service)?.label });
  // web's stored definition says it had another environment: it is recreated, saying so.
  const oldWeb = JSON.parse(hashes.get('web')?.label ?? '{}') as { options: Record<string, unknown> };
  oldWeb.options['environment'] = { MODE: 'old' };
  observed.containers = [
    container('demo_db_1', 'db', 1, current('db')),
    container('demo_api_1', 'api', 1, current('api')),
    container('demo_web_1', 'web', 1, { configHash: 'other', configLabel: JSON.stringify(oldWeb) }),
    container('demo_worker_1', 'worker', 1, current('worker')),
    container('demo_worker_2', 'worker', 2, current('worker')),
    container('demo_gone_1', 'gone', 1),
  ];
  assert.deepEqual(renderPlan(planUp(d, d.services, observed, { ...OPTIONS, removeOrphans: true })), [
    'remove demo_gone_1: orphan: service gone is not in the project',
    'recreate demo_web_1: environment changed (after remove demo_gone_1)',
    'remove demo_worker_2: scale 2 → 1 (after remove demo_gone_1)',
    'demo_db_1 is up to date',
    'demo_api_1 is up to date',
    'demo_worker_1 is up to date',
  ]);
});

test('up --no-start plans no waits and starts nothing; --force-recreate recreates all', (t) => {
  const d = deployment(t, 'services:\n  db:\n    image: x\n    healthcheck: {test: ["CMD", "true"]}\n  app:\n    image: x\n    depends_on: {db: {condition: service_healthy}}\n');
  const observed = nothing();
  observed.images.set('x', image('sha256:x'));
  observed.networks.set('demo_default', { id: 'n', name: 'demo_default', driver: 'bridge', labels: {}, internal: false, containers: {}, options: {}, ipam: undefined });
  assert.deepEqual(renderPlan(planUp(d, d.services, observed, { ...OPTIONS, start: false })), [
    'create demo_db_1: no container yet',
    'create demo_app_1: no container yet (after create demo_db_1)',
  ]);
  observed.containers = [container('demo_db_1', 'db', 1, { state: 'exited' }), container('demo_app_1', 'app', 1)];
  assert.deepEqual(renderPlan(planUp(d, d.services, observed, { ...OPTIONS, strategy: 'always' })), [
    'recreate demo_db_1: --force-recreate',
    'wait for db to be healthy: app depends on it (after recreate demo_db_1)',
    'recreate demo_app_1: --force-recreate (after wait for db to be healthy)',
  ]);
});

test('up refuses to call a container up to date when the engine lost one of its published ports; a recreate goes ahead', (t) => {
  const d = deployment(t, 'services:\n  web:\n    image: x\n    ports: ["127.0.0.1:18481:80"]\n');
  const observed = nothing();
  observed.images.set('x', image('sha256:x'));
  observed.networks.set('demo_default', { id: 'n', name: 'demo_default', driver: 'bridge', labels: {}, internal: false, containers: {}, options: {}, ipam: undefined });
  const web = d.services[0];
  assert.ok(web);
  const hash = configHash(web.configHash, { imageId: 'sha256:x', containerIdOf: () => null });
  observed.containers = [container('demo_web_1', 'web', 1, { configHash: hash.hash, configLabel: hash.label, unheldPorts: ['127.0.0.1:18481/tcp'] })];
  assert.throws(
    () => planUp(d, d.services, observed, OPTIONS),
    (e: unknown) => e instanceof FlotillaError && /^service web: container demo_web_1 does not hold its published port 127\.0\.0\.1:18481\/tcp: another program took it/.test(e.message),
  );
  assert.deepEqual(renderPlan(planUp(d, d.services, observed, { ...OPTIONS, strategy: 'always' })), ['recreate demo_web_1: --force-recreate']);
  observed.containers = [container('demo_web_1', 'web', 1, { configHash: hash.hash, configLabel: hash.label })];
  assert.deepEqual(renderPlan(planUp(d, d.services, observed, OPTIONS)), ['demo_web_1 is up to date']);
});

test('down: dependants first, then networks, volumes (-v) and images (--rmi local); -t 0 drops the order', (t) => {
  const d = deployment(t);
  const observed = {
    containers: [container('demo_db_1', 'db', 1), container('demo_api_1', 'api', 1), container('demo_web_1', 'web', 1), container('demo_web_run_0123456789ab', 'web', 0, { oneOff: true })],
    networks: [{ id: 'n1', name: 'demo_default', driver: 'bridge', labels: {}, internal: false, containers: {}, options: {}, ipam: undefined }],
    volumes: [{ name: 'demo_data', driver: 'local', labels: {}, mountpoint: '/v', options: {} }],
    anonymousVolumes: ['a'.repeat(64)],
  };
  const shared = 'remove network demo_default; remove volume demo_data; remove volume aaaaaaaaaaaa; remove image demo_api';
  assert.deepEqual(renderPlan(planDown(d, observed, { volumes: true, removeOrphans: false, rmi: 'local' })), [
    'remove demo_db_1: container of db (after remove demo_api_1)',
    'remove demo_api_1: container of api (after remove demo_web_1; remove demo_web_run_0123456789ab)',
    'remove demo_web_1: container of web',
    'remove demo_web_run_0123456789ab: one-off container',
    'remove network demo_default: network of the project (after remove demo_db_1; remove demo_api_1; remove demo_web_1; remove demo_web_run_0123456789ab)',
    'remove volume demo_data: volume of the project (-v) (after remove demo_db_1; remove demo_api_1; remove demo_web_1; remove demo_web_run_0123456789ab)',
    'remove volume aaaaaaaaaaaa: anonymous volume of a container (-v) (after remove demo_db_1; remove demo_api_1; remove demo_web_1; remove demo_web_run_0123456789ab)',
    'remove image demo_api: --rmi local (after remove demo_db_1; remove demo_api_1; remove demo_web_1; remove demo_web_run_0123456789ab)',
  ]);
  void shared;
  const fast = renderPlan(planDown(d, { ...observed, anonymousVolumes: [] }, { volumes: false, removeOrphans: false, timeout: 0 }));
  assert.deepEqual(fast.slice(0, 4), ['remove demo_db_1: container of db', 'remove demo_api_1: container of api', 'remove demo_web_1: container of web', 'remove demo_web_run_0123456789ab: one-off container']);
});

test('stop and restart: the reverse of the dependency order', (t) => {
  const d = deployment(t);
  const containers = [container('demo_db_1', 'db', 1), container('demo_api_1', 'api', 1), container('demo_web_1', 'web', 1), container('demo_worker_1', 'worker', 1)];
  assert.deepEqual(renderPlan(planStop(d, containers, undefined)), [
    'stop demo_db_1: stop (after stop demo_api_1)',
    'stop demo_api_1: stop (after stop demo_web_1; stop demo_worker_1)',
    'stop demo_web_1: stop',
    'stop demo_worker_1: stop',
  ]);
  assert.deepEqual(renderPlan(planRestart(d, containers, 3)).slice(0, 2), ['restart demo_db_1: restart (after restart demo_api_1)', 'restart demo_api_1: restart (after restart demo_web_1; restart demo_worker_1)']);
});
