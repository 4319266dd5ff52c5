/**
 * `flotilla service inspect` on the embedded swarm core prints what `docker service inspect`
 * (Docker 20.10's daemon, Docker CLI 28) prints for the same stack file: every fixture of the
 * stacks comparison (test/swarm/fixtures) is deployed by `docker stack deploy` on a one-node Docker
 * Swarm of this file's own (scripts/swarm-lab) and by `flotilla stack deploy` on an embedded test
 * daemon, and the two inspections are compared field by field: the top-level shape, the Spec
 * (defaults filled in), Endpoint.Spec and Endpoint.Ports, and after one `service update` the
 * PreviousSpec and UpdateStatus.
 *
 * Set aside, each because it cannot be equal between two swarms:
 * - ID, Version.Index, CreatedAt, UpdatedAt, UpdateStatus.StartedAt/CompletedAt,
 *   JobStatus.LastExecution: each swarm's own ids, counters and clocks (their form is checked);
 * - network, secret and config ids (TaskTemplate.Networks[].Target, Secrets[].SecretID,
 *   Configs[].ConfigID, Endpoint.VirtualIPs[].NetworkID): replaced by the names they stand for in
 *   each swarm, so a reference to the wrong object still differs;
 * - the order of several references to one secret or config: Docker's CLI sends them in a map's
 *   (random) order;
 * - the published port the swarm picks for a port the file leaves unpublished (checked to be in
 *   swarmkit's range 30000-32767);
 * - Endpoint.VirtualIPs[].Addr: each swarm's own address allocation (its form is checked);
 * - the virtual IP on Docker's `ingress` network of a service with ingress ports (the embedded
 *   core has no such network: it publishes ingress ports with iptables on its one node).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedSwarm } from '../../src/engine/embedded/swarm.js';
import { ROOT } from '../helpers/cli.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireLab, useSwarmLab, LAB_IMAGE, type SwarmLab } from '../helpers/swarm-lab.js';
import { waitFor } from '../helpers/wait.js';
import { fieldDifferences } from '../swarm/field-diff.js';

const FIXTURES = join(ROOT, 'test', 'swarm', 'fixtures');
const lab = useSwarmLab(1);
const daemon = useTestDaemon();
const run = embeddedCli(daemon);

type Json = Record<string, unknown>;

/** What stands for each id in one swarm: networks, secrets and configs by name. */
type Names = Map<string, string>;

const ID = /^[a-z0-9]{25}$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** The name an id stands for; a value that is no id of the swarm is kept, marked, so that it differs. */
function named(names: Names, id: unknown): string {
  return names.get(id as string) ?? `(not an id: ${JSON.stringify(id)})`;
}

/** One `service inspect` entry with what cannot be equal between two swarms set aside (see above). */
function normalised(entry: Json, names: Names, side: string): Json {
  const out = structuredClone(entry);
  const where = `${side} ${String((out['Spec'] as Json | undefined)?.['Name'])}`;
  assert.match(String(out['ID']), ID, `${where}: ID`);
  out['ID'] = '(id)';
  assert.equal(typeof (out['Version'] as Json | undefined)?.['Index'], 'number', `${where}: Version.Index`);
  out['Version'] = { Index: '(index)' };
  for (const k of ['CreatedAt', 'UpdatedAt']) {
    assert.match(String(out[k]), TIME, `${where}: ${k}`);
    out[k] = '(time)';
  }
  for (const key of ['Spec', 'PreviousSpec']) {
    const spec = out[key] as Json | undefined;
    if (!spec) continue;
    const task = spec['TaskTemplate'] as Json;
    for (const n of (task['Networks'] as Json[] | undefined) ?? []) n['Target'] = named(names, n['Target']);
    const c = task['ContainerSpec'] as Json;
    for (const [list, idKey, nameKey] of [
      [c['Secrets'], 'SecretID', 'SecretName'],
      [c['Configs'], 'ConfigID', 'ConfigName'],
    ] as [Json[] | undefined, string, string][]) {
      for (const r of list ?? []) r[idKey] = named(names, r[idKey]);
      const order = (r: Json) => `${String(r[nameKey])}\0${String((r['File'] as Json | undefined)?.['Name'])}`;
      list?.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    }
  }
  const endpoint = out['Endpoint'] as Json | undefined;
  if (endpoint) {
    const specPorts = ((endpoint['Spec'] as Json | undefined)?.['Ports'] as Json[] | undefined) ?? [];
    for (const p of (endpoint['Ports'] as Json[] | undefined) ?? []) {
      const asked = specPorts.find((s) => s['TargetPort'] === p['TargetPort'] && s['Protocol'] === p['Protocol'] && s['PublishMode'] === p['PublishMode']);
      if (asked && asked['PublishedPort'] === undefined) {
        const port = Number(p['PublishedPort']);
        assert.ok(port >= 30000 && port <= 32767, `${where}: the swarm picks a published port in 30000-32767, not ${String(p['PublishedPort'])}`);
        p['PublishedPort'] = '(picked)';
      }
    }
    // Docker's routing mesh is an overlay network, `ingress`, that a service with ingress ports
    // joins and gets a virtual IP on; the embedded core publishes them on its one node with
    // iptables, without such a network. Its address is set aside for such a service only.
    const ingress = specPorts.some((p) => p['PublishMode'] === 'ingress');
    if (Array.isArray(endpoint['VirtualIPs']) && ingress) endpoint['VirtualIPs'] = (endpoint['VirtualIPs'] as Json[]).filter((v) => names.get(v['NetworkID'] as string) !== 'ingress');
    for (const v of (endpoint['VirtualIPs'] as Json[] | undefined) ?? []) {
      v['NetworkID'] = named(names, v['NetworkID']);
      assert.match(String(v['Addr']), /^\d+\.\d+\.\d+\.\d+\/\d+$/, `${where}: virtual IP`);
      v['Addr'] = '(address)';
    }
  }
  const job = out['JobStatus'] as Json | undefined;
  if (job) {
    assert.match(String(job['LastExecution']), TIME, `${where}: JobStatus.LastExecution`);
    job['LastExecution'] = '(time)';
  }
  const status = out['UpdateStatus'] as Json | undefined;
  for (const k of ['StartedAt', 'CompletedAt']) {
    if (status?.[k] === undefined) continue;
    assert.match(String(status[k]), TIME, `${where}: UpdateStatus.${k}`);
    status[k] = '(time)';
  }
  return out;
}

const stackLabel = (stack: string) => `com.docker.stack.namespace=${stack}`;

/** Docker's side: ids of the lab's networks, secrets and configs, and `docker service inspect`. */
function dockerSide(l: SwarmLab, services: string[]): { names: Names; inspected: Json[] } {
  const names: Names = new Map();
  for (const kind of ['network', 'secret', 'config']) {
    const ls = l.docker([kind, 'ls', '--format', '{{.ID}} {{.Name}}', ...(kind === 'network' ? ['--no-trunc'] : [])]);
    assert.equal(ls.status, 0, ls.stderr);
    for (const line of ls.stdout.trim().split('\n').filter(Boolean)) {
      const [id, name] = line.split(' ') as [string, string];
      names.set(id, name);
    }
  }
  const out = l.docker(['service', 'inspect', ...services]);
  assert.equal(out.status, 0, out.stderr);
  return { names, inspected: JSON.parse(out.stdout) as Json[] };
}

async function flotillaSide(stack: string, services: string[]): Promise<{ names: Names; inspected: Json[] }> {
  const d = daemon();
  assert.ok(d);
  const swarm = new EmbeddedSwarm(d.engine);
  const names: Names = new Map();
  for (const n of await swarm.listNetworks()) names.set(n.id, n.name);
  for (const s of await swarm.listSecrets()) names.set(s.id, s.name);
  for (const c of await swarm.listConfigs()) names.set(c.id, c.name);
  const out = succeeded(run(FIXTURES, ['service', 'inspect', ...services]), `${stack}: service inspect`);
  return { names, inspected: JSON.parse(out) as Json[] };
}

/** Objects whose keys both sides have but print in another order (Go prints struct fields in declaration order, map keys sorted). */
function keyOrderDifferences(expected: unknown, actual: unknown, path: string): string[] {
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null;
  if (!isObject(expected) || !isObject(actual)) return [];
  const shared = (o: Json, other: Json) => Object.keys(o).filter((k) => k in other);
  const out = shared(expected, actual).join() === shared(actual, expected).join() ? [] : [`${path}: key order: docker ${shared(expected, actual).join()}, flotilla ${shared(actual, expected).join()}`];
  return [...out, ...shared(expected, actual).flatMap((k) => keyOrderDifferences(expected[k], actual[k], Array.isArray(expected) ? `${path}[${k}]` : `${path}.${k}`))];
}

/**
 * Fields Docker 20.10 drops because its API (1.41) is older than they are, and the embedded core
 * keeps (as Docker 25 and later do): `healthcheck.start_interval` (API 1.44) and `oom_score_adj`
 * (1.46). Each must show up as exactly this difference.
 */
const NEWER_THAN_DOCKER_20_10 = [/\.ContainerSpec\.Healthcheck\.StartInterval: docker \(absent\), flotilla 1000000000$/, /\.ContainerSpec\.OomScoreAdj: docker \(absent\), flotilla 200$/];

function compare(docker: { names: Names; inspected: Json[] }, ours: { names: Names; inspected: Json[] }, what: string): { differences: string[]; newer: string[] } {
  assert.equal(ours.inspected.length, docker.inspected.length);
  const all = docker.inspected.flatMap((d, i) => {
    const mine = ours.inspected[i] as Json;
    const name = String((d['Spec'] as Json)['Name']);
    const expected = normalised(d, docker.names, 'docker');
    const actual = normalised(mine, ours.names, 'flotilla');
    // The top-level keys (ID, Version, CreatedAt, UpdatedAt, Spec, PreviousSpec, Endpoint, UpdateStatus, JobStatus) in Docker's order.
    const shape = Object.keys(d).join() === Object.keys(mine).join() ? [] : [`${what} ${name}: keys: docker ${Object.keys(d).join()}, flotilla ${Object.keys(mine).join()}`];
    return [...shape, ...fieldDifferences(expected, actual, `${what} ${name}`), ...keyOrderDifferences(expected, actual, `${what} ${name}`)];
  });
  const newer = all.filter((l) => NEWER_THAN_DOCKER_20_10.some((r) => r.test(l)));
  return { differences: all.filter((l) => !newer.includes(l)), newer };
}

for (const [fixture, stack] of [
  ['all-keys.yml', 'insa'],
  ['spec-3.13.yml', 'insb'],
] as const) {
  test(`${fixture}: flotilla service inspect on the embedded core prints what docker service inspect prints`, { timeout: 600_000 }, async (t) => {
    if (!requireLab(t)) return;
    const l = lab() as SwarmLab;
    assert.ok(daemon(), 'no test daemon');
    // The lab's image, so the embedded core's tasks run as the lab's do.
    succeeded(run(FIXTURES, ['image', 'tag', 'busybox:latest', LAB_IMAGE]), 'image tag');
    try {
      const ref = l.docker(['stack', 'deploy', '--resolve-image', 'never', '-c', join(FIXTURES, fixture), stack], { cwd: FIXTURES });
      assert.equal(ref.status, 0, ref.stderr);
      const ls = l.docker(['service', 'ls', '--filter', `label=${stackLabel(stack)}`, '--format', '{{.Name}}']);
      assert.equal(ls.status, 0, ls.stderr);
      const services = ls.stdout.trim().split('\n').filter(Boolean).sort();
      assert.ok(services.length >= 3, `docker deployed the stack's services: ${ls.stdout}`);

      succeeded(run(FIXTURES, ['stack', 'deploy', '--resolve-image', 'never', '-c', fixture, stack]), 'flotilla stack deploy');

      const first = compare(dockerSide(l, services), await flotillaSide(stack, services), 'inspect');
      const differences = first.differences;
      // Only spec-3.13.yml's api service uses the fields newer than Docker 20.10's API.
      assert.equal(first.newer.length, fixture === 'spec-3.13.yml' ? 2 : 0, `fields newer than API 1.41: ${first.newer.join('; ')}`);

      // One update of the task template: PreviousSpec and UpdateStatus as each swarm shows them when it is over.
      const updated = services[services.length - 1] as string;
      const u = l.docker(['service', 'update', '-d', '--env-add', 'INSPECT_UPDATE=1', updated]);
      assert.equal(u.status, 0, u.stderr);
      succeeded(run(FIXTURES, ['service', 'update', '-d', '--env-add', 'INSPECT_UPDATE=1', updated]), 'flotilla service update');
      const state = (entry: Json | undefined) => (entry?.['UpdateStatus'] as Json | undefined)?.['State'];
      const [dockerAfter, oursAfter] = await Promise.all([
        waitFor(`docker's update of ${updated} to end`, () => {
          const side = dockerSide(l, [updated]);
          return state(side.inspected[0]) === 'completed' && side;
        }, 120_000, 500),
        waitFor(`flotilla's update of ${updated} to end`, async () => {
          const side = await flotillaSide(stack, [updated]);
          return state(side.inspected[0]) === 'completed' && side;
        }, 120_000, 500),
      ]);
      differences.push(...compare(dockerAfter, oursAfter, 'after update').differences);

      assert.deepEqual(differences, [], `docker service inspect and flotilla service inspect differ:\n${differences.join('\n')}`);
    } finally {
      l.docker(['stack', 'rm', stack]);
      run(FIXTURES, ['stack', 'rm', stack]);
    }
  });
}
