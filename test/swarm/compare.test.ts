/**
 * The same Compose file deployed by `docker stack deploy --resolve-image never` (Docker CLI 28)
 * and by `flotilla stack deploy` on the same swarm (a one-node lab) gives the same services,
 * networks, secrets and configs, compared field by field: the specs as the swarm stores them, and
 * as `docker service inspect` shows them (defaults filled in). Only what must differ between two
 * deploys is set aside: ids, versions, timestamps, networks' auto-assigned subnets, and the order of
 * several references to one secret (Docker's CLI orders them at random). Each tool also reads the
 * other's stack as up to date.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DockerClient } from '../../src/engine/docker/client.js';
import { resolveEndpoint } from '../../src/engine/docker/endpoint.js';
import { flotilla, ROOT } from '../helpers/cli.js';
import { requireLab, useSwarmLab, type SwarmLab } from '../helpers/swarm-lab.js';
import { fieldDifferences } from './field-diff.js';

const FIXTURES = join(ROOT, 'test', 'swarm', 'fixtures');
const lab = useSwarmLab(1);
const STACK = 'cmp';

type Json = Record<string, unknown>;

interface Recorded {
  services: Record<string, Json>;
  inspected: Record<string, Json>;
  networks: Record<string, Json>;
  secrets: Record<string, Json>;
  configs: Record<string, Json>;
}

const label = (stack: string) => JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`] });

async function record(l: SwarmLab, fixture: string): Promise<Recorded> {
  const client = new DockerClient(resolveEndpoint({ host: l.host() }));
  try {
    const filters = { filters: label(STACK) };
    const allNetworks = (await client.json<Json[]>('GET', '/networks')) ?? [];
    const netName = new Map(allNetworks.map((n) => [n['Id'] as string, n['Name'] as string]));
    const withNames = (spec: Json): Json => {
      const copy = structuredClone(spec);
      const task = copy['TaskTemplate'] as Json;
      for (const n of (task['Networks'] as Json[] | undefined) ?? []) n['Target'] = netName.get(n['Target'] as string) ?? n['Target'];
      const c = task['ContainerSpec'] as Json;
      for (const s of (c['Secrets'] as Json[] | undefined) ?? []) delete s['SecretID'];
      for (const s of (c['Configs'] as Json[] | undefined) ?? []) delete s['ConfigID'];
      // Docker's CLI orders several references to one secret at random (it goes through a map).
      const key = (r: Json) => `${String(r['SecretName'] ?? r['ConfigName'])}\0${String((r['File'] as Json | undefined)?.['Name'])}`;
      for (const list of [c['Secrets'], c['Configs']] as (Json[] | undefined)[]) list?.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      return copy;
    };
    const services: Record<string, Json> = {};
    const inspected: Record<string, Json> = {};
    for (const s of (await client.json<Json[]>('GET', '/services', { query: filters })) ?? []) {
      const spec = s['Spec'] as Json;
      services[spec['Name'] as string] = withNames(spec);
      const out = l.docker(['service', 'inspect', s['ID'] as string]);
      assert.equal(out.status, 0, out.stderr);
      const full = (JSON.parse(out.stdout) as Json[])[0] as Json;
      inspected[spec['Name'] as string] = withNames(full['Spec'] as Json);
    }
    const text = readFileSync(join(FIXTURES, fixture), 'utf8');
    const networks: Record<string, Json> = {};
    for (const n of (await client.json<Json[]>('GET', '/networks', { query: filters })) ?? []) {
      const options = { ...(n['Options'] as Record<string, string> | null) };
      delete options['com.docker.network.driver.overlay.vxlanid_list'];
      const ipam = n['IPAM'] as { Driver: string; Config: { Subnet?: string }[] | null };
      // Subnets the file names are compared; the ones the swarm picked may differ between two deploys.
      const subnets = (ipam.Config ?? []).map((c) => c.Subnet ?? '').filter((s) => text.includes(s));
      networks[n['Name'] as string] = { Driver: n['Driver'], Scope: n['Scope'], Options: options, Labels: n['Labels'], Internal: n['Internal'], Attachable: n['Attachable'], IPAMDriver: ipam.Driver, Subnets: subnets };
    }
    const objects = async (kind: 'secrets' | 'configs') => {
      const out: Record<string, Json> = {};
      for (const o of (await client.json<Json[]>('GET', `/${kind}`, { query: filters })) ?? []) {
        const spec = o['Spec'] as Json;
        out[spec['Name'] as string] = spec;
      }
      return out;
    };
    return { services, inspected, networks, secrets: await objects('secrets'), configs: await objects('configs') };
  } finally {
    client.close();
  }
}

function removeStack(l: SwarmLab): void {
  const r = flotilla(['stack', 'rm', '--detach=false', STACK], { cwd: FIXTURES, env: l.env(), timeoutMs: 180_000 });
  assert.ok(r.status === 0 || /Nothing found/.test(r.stderr), r.stderr);
}

for (const fixture of ['all-keys.yml', 'spec-3.13.yml']) {
  test(`${fixture}: flotilla stack deploy makes what docker stack deploy makes, field by field`, { timeout: 600_000 }, async (t) => {
    if (!requireLab(t)) return;
    const l = lab() as SwarmLab;
    try {
      const ref = l.docker(['stack', 'deploy', '--resolve-image', 'never', '-c', join(FIXTURES, fixture), STACK], { cwd: FIXTURES });
      assert.equal(ref.status, 0, ref.stderr);
      const docker = await record(l, fixture);
      assert.ok(Object.keys(docker.services).length >= 3, 'the reference deployed the services');

      // Flotilla reads Docker's stack as what the file says.
      const dry = flotilla(['stack', 'deploy', '--dry-run', '--resolve-image', 'never', '-c', fixture, STACK], { cwd: FIXTURES, env: l.env() });
      assert.equal(dry.status, 0, dry.stderr);
      for (const name of Object.keys(docker.services)) assert.match(dry.stdout, new RegExp(`^leave service ${name}: up to date$`, 'm'), dry.stdout);
      assert.doesNotMatch(dry.stdout, /^(create|update) (service|network|config)/m, dry.stdout);

      removeStack(l);
      const ours = flotilla(['stack', 'deploy', '--resolve-image', 'never', '-c', fixture, STACK], { cwd: FIXTURES, env: l.env() });
      assert.equal(ours.status, 0, ours.stderr);
      const flo = await record(l, fixture);

      const differences = [
        ...fieldDifferences(docker.services, flo.services, 'stored'),
        ...fieldDifferences(docker.inspected, flo.inspected, 'inspect'),
        ...fieldDifferences(docker.networks, flo.networks, 'networks'),
        ...fieldDifferences(docker.secrets, flo.secrets, 'secrets'),
        ...fieldDifferences(docker.configs, flo.configs, 'configs'),
      ];
      assert.deepEqual(differences, [], `docker stack deploy and flotilla stack deploy differ:\n${differences.join('\n')}`);

      // And Docker's CLI finds nothing to change in Flotilla's services.
      const again = l.docker(['stack', 'deploy', '--resolve-image', 'never', '-c', join(FIXTURES, fixture), STACK], { cwd: FIXTURES });
      assert.equal(again.status, 0, again.stderr);
      const after = await record(l, fixture);
      assert.deepEqual(fieldDifferences(flo.services, after.services, 'redeploy'), []);
    } finally {
      removeStack(l);
    }
  });
}
