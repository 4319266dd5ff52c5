import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProject } from '../../src/compose/load.js';
import { loadBundleProject } from '../../src/bundle/to-project.js';
import { emitDeployment } from '../../src/compose/emit/deployment.js';
import { Diagnostics } from '../../src/diagnostics.js';
import type { Service } from '../../src/model/service.js';
import { projectDir } from '../helpers/tmp.js';

function deploy(dir: string) {
  return loadProject({ cwd: dir, shell: { HOME: '/home/u' }, projectName: 'demo' }).deployment();
}

function service(dir: string, name: string): Service {
  const s = deploy(dir).services.find((x) => x.name === name);
  assert.ok(s, `service ${name}`);
  return s;
}

test('a v3 service becomes typed: argv, ns, bytes, numeric ports, mount records, resolved env', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': `version: "3.9"
services:
  web:
    build: {context: ., args: {V: "1"}, shm_size: 64m}
    command: sh -c 'echo "hi there"'
    entrypoint: ["/bin/init", "--"]
    environment: {A: "1", B: 2, UNSET: null}
    ports: ["8080:80", "127.0.0.1:9000-9010:9000/udp", {target: 443, published: 8443, mode: host}]
    expose: ["3000-3001", "4000/udp"]
    volumes: ["data:/data:ro,nocopy", "./site:/site:z", {type: tmpfs, target: /tmp, tmpfs: {size: 1m}}, "/anon"]
    stop_grace_period: 1m30s
    healthcheck: {test: "curl -f localhost", interval: 30s, timeout: 500ms, retries: 3}
    restart: on-failure:3
    mem_limit: 512m
    cpus: 0.5
    ulimits: {nofile: {soft: 10, hard: 20}, nproc: 5}
    extra_hosts: ["h:10.0.0.1"]
    tmpfs: ["/run:size=64k"]
    networks: {front: {aliases: [www], priority: 10}, back: {ipv4_address: 10.1.0.5}}
    depends_on: {db: {condition: service_healthy}}
    links: ["db:database"]
  db:
    image: postgres:15
    ipc: shareable
    network_mode: bridge
volumes: {data: {}}
networks: {front: {}, back: {ipam: {config: [{subnet: 10.1.0.0/24}]}}}
`,
  });
  const web = service(dir, 'web');
  assert.equal(web.image, 'demo_web');
  assert.equal(web.imageDeclared, false);
  assert.deepEqual(web.build && { ...web.build, context: '' }, {
    context: '', dockerfile: 'Dockerfile', args: { V: '1' }, labels: {}, cacheFrom: [], extraHosts: [], shmSize: 64 * 1024 * 1024,
    // The Compose Spec's build keys, at their defaults in a v3 file.
    additionalContexts: {}, noCache: false, platforms: [], pull: false, secrets: [], ssh: [], tags: [],
  });
  assert.deepEqual(web.command, ['sh', '-c', 'echo "hi there"']);
  assert.deepEqual(web.entrypoint, ['/bin/init', '--']);
  assert.deepEqual(web.environment, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'UNSET', value: null }]);
  assert.deepEqual(web.ports, [
    { target: 80, protocol: 'tcp', mode: 'ingress', published: { start: 8080, end: 8080 } },
    { target: 9000, protocol: 'udp', mode: 'ingress', published: { start: 9000, end: 9010 }, hostIp: '127.0.0.1' },
    { target: 443, protocol: 'tcp', mode: 'host', published: { start: 8443, end: 8443 } },
  ]);
  assert.deepEqual(web.expose, [{ port: 3000, protocol: 'tcp' }, { port: 3001, protocol: 'tcp' }, { port: 4000, protocol: 'udp' }]);
  assert.deepEqual(web.mounts, [
    { type: 'volume', target: '/data', readOnly: true, short: true, noCopy: true, source: 'demo_data', key: 'data' },
    { type: 'bind', target: '/site', readOnly: false, short: true, source: join(dir, 'site'), selinux: 'z' },
    { type: 'tmpfs', target: '/tmp', readOnly: false, short: false, sizeBytes: 1024 * 1024 },
    { type: 'volume', target: '/anon', readOnly: false, short: true, noCopy: false },
  ]);
  assert.equal(web.stopGracePeriod, 90e9);
  assert.deepEqual(web.healthcheck, { test: ['CMD-SHELL', 'curl -f localhost'], interval: 30e9, timeout: 500e6, startPeriod: 0, startInterval: 0, retries: 3 });
  assert.deepEqual(web.restart, { name: 'on-failure', maxRetries: 3 });
  assert.equal(web.limits.memoryBytes, 512 * 1024 * 1024);
  assert.equal(web.limits.nanoCpus, 5e8);
  assert.deepEqual(web.ulimits, [{ name: 'nofile', soft: 10, hard: 20 }, { name: 'nproc', soft: 5, hard: 5 }]);
  assert.deepEqual(web.extraHosts, [{ host: 'h', ip: '10.0.0.1' }]);
  assert.deepEqual(web.tmpfs, [{ target: '/run', options: 'size=64k' }]);
  // Priority first, as docker-compose attaches them.
  assert.deepEqual(web.networks.map((n) => [n.key, n.name, n.aliases, n.ipv4Address]), [
    ['front', 'demo_front', ['www'], undefined],
    ['back', 'demo_back', [], '10.1.0.5'],
  ]);
  assert.deepEqual(web.networkMode, { kind: 'networks' });
  assert.deepEqual(web.dependencies, [
    { service: 'db', kind: 'depends_on', condition: 'service_healthy' },
    { service: 'db', kind: 'links', condition: 'service_started' },
  ]);
  assert.deepEqual(web.links, [{ target: 'db', alias: 'database' }]);

  const db = service(dir, 'db');
  assert.equal(db.image, 'postgres:15');
  assert.deepEqual(db.ipc, { kind: 'shareable' });
  assert.deepEqual(db.networkMode, { kind: 'bridge' });
  assert.deepEqual(db.networks, []);
  assert.equal(db.command, undefined);
  const d = deploy(dir);
  assert.deepEqual(Object.keys(d.networks).sort(), ['back', 'front']);
  assert.deepEqual(d.networks['back']?.ipam?.config, [{ subnet: '10.1.0.0/24', auxAddresses: {} }]);
  assert.deepEqual(d.volumes['data'], { key: 'data', name: 'demo_data', external: false, driverOpts: {}, labels: {} });
  assert.deepEqual(d.problems, []);
});

test('deploy is typed for stacks: mode, replicas, placement, resources, policies, endpoint mode', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': `version: "3.9"
services:
  api:
    image: api:1
    deploy:
      mode: replicated
      replicas: 3
      labels: [tier=back]
      endpoint_mode: dnsrr
      placement: {constraints: ["node.role == worker"], preferences: [{spread: node.labels.zone}], max_replicas_per_node: 2}
      resources:
        limits: {cpus: "1.5", memory: 256M}
        reservations: {cpus: "0.25", memory: 64M, generic_resources: [{discrete_resource_spec: {kind: gpu, value: 2}}], devices: [{capabilities: [gpu], count: all}]}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
      update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 1m, max_failure_ratio: 0.3, order: start-first}
      rollback_config: {parallelism: 1, order: stop-first}
    secrets: [{source: token, target: tok, uid: "1000", gid: "1000", mode: 0400}]
    configs: [conf]
secrets: {token: {file: ./token.txt}}
configs: {conf: {external: true}}
`,
  });
  const api = service(dir, 'api');
  assert.deepEqual(api.deploy, {
    mode: 'replicated',
    replicas: 3,
    labels: { tier: 'back' },
    endpointMode: 'dnsrr',
    placement: { constraints: ['node.role == worker'], preferences: [{ spread: 'node.labels.zone' }], maxReplicasPerNode: 2 },
    resources: {
      limits: { nanoCpus: 1.5e9, memoryBytes: 256 * 1024 * 1024 },
      reservations: {
        nanoCpus: 2.5e8,
        memoryBytes: 64 * 1024 * 1024,
        genericResources: [{ kind: 'gpu', value: 2 }],
        devices: [{ count: -1, deviceIds: [], capabilities: ['gpu'], options: {} }],
      },
    },
    restartPolicy: { condition: 'on-failure', delay: 5e9, window: 120e9, maxAttempts: 3 },
    updateConfig: { parallelism: 2, delay: 10e9, monitor: 60e9, maxFailureRatio: 0.3, failureAction: 'rollback', order: 'start-first' },
    rollbackConfig: { parallelism: 1, order: 'stop-first' },
  });
  assert.equal(api.scale, 2, 'replicas capped by max_replicas_per_node');
  assert.deepEqual(api.secrets, [{ source: 'token', target: 'tok', uid: '1000', gid: '1000', mode: 0o400 }]);
  assert.deepEqual(api.configs, [{ source: 'conf' }]);
  const d = deploy(dir);
  assert.deepEqual(d.secrets['token'], { key: 'token', name: 'demo_token', external: false, labels: {}, driverOpts: {}, file: join(dir, 'token.txt') });
  assert.equal(d.configs['conf']?.external, true);
  assert.equal(d.configs['conf']?.name, 'conf');
});

test('what up cannot use is a located problem, not an error: config still works', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': `services:
  a:
    image: x
    ports: [{target: 80, protocol: tcpx}]
    restart: sometimes
    deploy: {mode: everywhere, update_config: {failure_action: random}}
`,
  });
  const d = deploy(dir);
  assert.deepEqual(
    d.problems.map((p) => `${p.service}:${p.keyPath.join('.')}`),
    ['a:deploy.mode', 'a:deploy.update_config.failure_action', 'a:ports.0', 'a:restart'],
  );
});

test('v1 files: the engine default bridge, volumes not prefixed, no networks', (t) => {
  const dir = projectDir(t, { 'docker-compose.yml': 'web:\n  image: x\n  volumes: ["data:/data"]\n  links: [db]\ndb:\n  image: y\n' });
  const d = deploy(dir);
  assert.equal(d.legacy, true);
  const web = d.services.find((s) => s.name === 'web') as Service;
  assert.deepEqual(web.networkMode, { kind: 'engine-default' });
  assert.deepEqual(web.networks, []);
  assert.deepEqual(web.mounts, [{ type: 'volume', target: '/data', readOnly: false, short: true, noCopy: false, source: 'data' }]);
  assert.deepEqual(Object.keys(d.networks), []);
});

test('a .dab bundle maps onto the same types', (t) => {
  const dir = projectDir(t, {});
  const file = join(dir, 'app.dab');
  writeFileSync(file, JSON.stringify({
    Version: '0.1',
    Services: {
      web: { Image: 'nginx@sha256:' + 'a'.repeat(64), Command: ['nginx'], Args: ['-g', 'daemon off;'], Env: ['A=1', 'B'], Labels: { l: 'v' }, Ports: [{ Protocol: 'tcp', Port: 80 }], WorkingDir: '/w', User: 'u', Networks: ['front'] },
    },
  }));
  const project = loadBundleProject(file, { cwd: dir }, new Diagnostics());
  const web = emitDeployment(project, { cwd: dir }).services[0] as Service;
  assert.deepEqual([web.entrypoint, web.command, web.environment, web.deploy?.labels, web.expose, web.workingDir, web.user], [
    ['nginx'], ['-g', 'daemon off;'], [{ name: 'A', value: '1' }, { name: 'B', value: null }], { l: 'v' }, [{ port: 80, protocol: 'tcp' }], '/w', 'u',
  ]);
  assert.deepEqual(web.networks.map((n) => n.name), ['app_front']);
});
