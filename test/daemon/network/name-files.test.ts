import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHosts, renderResolvConf, writeInPlace } from '../../../src/daemon/network/name-files.js';
import type { NameSettings } from '../../../src/daemon/network/types.js';

const settings = (extra: Partial<NameSettings> = {}): NameSettings => ({ hostname: 'h1', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [], ...extra });
const host = { nameservers: ['10.255.255.53', '127.0.0.53', 'fd00::1'], search: ['corp.example'], options: ['timeout:3'] };

test("hosts: Docker's layout (localhost lines, extra_hosts, the container's own addresses with hostname[.domainname])", () => {
  // What `docker run --add-host foo:1.2.3.4 --add-host bar:5.6.7.8 --hostname h1 --domainname d.example` wrote on this machine.
  const docker = [
    '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters', '1.2.3.4\tfoo', '5.6.7.8\tbar', '172.17.0.2\th1.d.example h1', '',
  ].join('\n');
  const s = settings({ domainname: 'd.example', extraHosts: [{ host: 'foo', ip: '1.2.3.4' }, { host: 'bar', ip: '5.6.7.8' }] });
  assert.equal(renderHosts({ settings: s, addresses: ['172.17.0.2'], hostGateway: null }), docker);
  const two = renderHosts({ settings: settings({ extraHosts: [{ host: 'gw', ip: 'host-gateway' }, { host: 'v6', ip: 'fd00::5' }] }), addresses: ['10.0.0.2', '10.0.1.2'], hostGateway: '10.213.0.1' });
  assert.match(two, /\n10\.213\.0\.1\tgw\nfd00::5\tv6\n10\.0\.0\.2\th1\n10\.0\.1\.2\th1\n$/);
});

test('resolv.conf: the embedded DNS with ndots:0; otherwise dns: or the host resolvers a container can reach', () => {
  assert.equal(renderResolvConf({ settings: settings(), host, embeddedDns: '10.213.4.1', hostNetwork: false }), 'search corp.example\nnameserver 10.213.4.1\noptions timeout:3 ndots:0\n');
  assert.equal(
    renderResolvConf({ settings: settings({ dnsSearch: ['s.example'], dnsOptions: ['ndots:2'], dns: ['9.9.9.9'] }), host, embeddedDns: '10.213.4.1', hostNetwork: false }),
    'search s.example\nnameserver 10.213.4.1\noptions ndots:2\n',
  );
  // Default bridge / none: no loopback (unreachable from the container) and no IPv6 resolvers.
  assert.equal(renderResolvConf({ settings: settings(), host, embeddedDns: null, hostNetwork: false }), 'search corp.example\nnameserver 10.255.255.53\noptions timeout:3\n');
  assert.equal(renderResolvConf({ settings: settings({ dns: ['9.9.9.9'] }), host, embeddedDns: null, hostNetwork: false }), 'search corp.example\nnameserver 9.9.9.9\noptions timeout:3\n');
  assert.equal(
    renderResolvConf({ settings: settings(), host: { nameservers: ['127.0.0.1'], search: [], options: [] }, embeddedDns: null, hostNetwork: false }),
    'nameserver 8.8.8.8\nnameserver 8.8.4.4\n',
  );
  assert.equal(renderResolvConf({ settings: settings(), host, embeddedDns: null, hostNetwork: true }), 'search corp.example\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver fd00::1\noptions timeout:3\n');
});

test('writeInPlace keeps the inode (a bind mount keeps seeing the file) and cuts a longer old content', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'hosts');
  writeFileSync(file, 'a much longer previous content\n'.repeat(10));
  const inode = statSync(file).ino;
  await writeInPlace(file, 'short\n');
  assert.equal(readFileSync(file, 'utf8'), 'short\n');
  assert.equal(statSync(file).ino, inode);
  await writeInPlace(join(dir, 'new'), 'created\n');
  assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'created\n');
});
