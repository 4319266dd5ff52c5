import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../../helpers/root.js';
import { attach, BUSYBOX, containerId, harness, httpServer, NET_TOOLS, ROOT_TEST_TIMEOUT, runTool, sleep, spec } from './helpers.js';

interface OciSpec {
  process: { terminal: boolean; args: string[] };
  root: { path: string; readonly: boolean };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: { namespaces: { type: string; path?: string }[] };
}

/**
 * A bundle in `dir`: the static busybox as rootfs (read-only), `runc spec`'s defaults, the
 * network namespace `netns` joined, the name files bind-mounted over /etc/hosts and resolv.conf.
 */
async function bundle(dir: string, netns: string, files: { hosts: string; resolvConf: string }, args: string[]): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'dev', 'sys', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  writeFileSync(join(rootfs, 'etc', 'hosts'), '');
  writeFileSync(join(rootfs, 'etc', 'resolv.conf'), '');
  const made = await runTool(['runc', 'spec', '--bundle', dir]);
  assert.equal(made.code, 0, made.stderr);
  const path = join(dir, 'config.json');
  const oci = JSON.parse(readFileSync(path, 'utf8')) as OciSpec;
  oci.process.terminal = false;
  oci.process.args = args;
  oci.root = { path: 'rootfs', readonly: true };
  oci.linux.namespaces = oci.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: netns } : n));
  oci.mounts.push(
    { destination: '/etc/hosts', type: 'bind', source: files.hosts, options: ['rbind', 'ro'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ['rbind', 'ro'] },
  );
  writeFileSync(path, JSON.stringify(oci));
}

test('a real runc container in a sandbox: resolves a peer by name through the embedded DNS, and sees /etc/hosts rewritten in place', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, [...NET_TOOLS, 'runc'])) return;
  const h = await harness(t, 'runc-1');
  await h.manager.create(spec('app_default'));
  await h.manager.create(spec('app_extra'));
  const web = await attach(h, 'app_default', 'app_web_1', ['web']);
  await httpServer(h, web.netns, 'hello from web');

  const id = containerId();
  const netns = await h.manager.createSandbox(id);
  const endpoint = await h.manager.connect('app_default', id, netns, { containerName: 'app_client_1', aliases: ['client'] });
  const files = { hosts: join(h.dir, 'hosts'), resolvConf: join(h.dir, 'resolv.conf') };
  writeFileSync(files.hosts, '');
  writeFileSync(files.resolvConf, '');
  await h.manager.writeNameFiles(id, files, { hostname: 'client', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] });

  const dir = join(h.dir, 'bundle');
  // Prints hosts, fetches from web by name, waits for the test to connect a second network, prints hosts again.
  const script = 'cat /etc/hosts; echo ---; busybox wget -q -O - http://web/; echo; echo ---; sleep 2; cat /etc/hosts';
  await bundle(dir, netns, files, ['/bin/busybox', 'sh', '-c', script]);
  const runcRoot = join(h.dir, 'runc');
  const name = `flnet-${id.slice(0, 12)}`;
  h.defer(() => runTool(['runc', '--root', runcRoot, 'delete', '--force', name]));
  const running = runTool(['runc', '--root', runcRoot, 'run', '--bundle', dir, name], undefined, 30_000);
  await sleep(1000);
  const second = await h.manager.connect('app_extra', id, netns, { containerName: 'app_client_1', aliases: [] });
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  const [before = '', fetched = '', after = ''] = r.stdout.split('---\n');
  assert.match(before, new RegExp(`^${endpoint.ip.replaceAll('.', '\\.')}\\s+client$`, 'm'), r.stdout);
  assert.equal(fetched.trim(), 'hello from web', r.stdout + r.stderr);
  assert.match(after, new RegExp(`^${second.ip.replaceAll('.', '\\.')}\\s+client$`, 'm'), `the second address appears in the bind-mounted file: ${r.stdout}`);
});
