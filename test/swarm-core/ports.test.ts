/** The ports a service publishes as the swarm core keeps them: picked, kept, and never shared. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../src/contract/errors.js';
import type { PortConfig, Service, ServiceSpec } from '../../src/contract/swarm.js';
import { publishPorts } from '../../src/swarm/ports.js';

function spec(ports: PortConfig[]): ServiceSpec {
  return { name: 'web', labels: {}, task: { container: { image: 'busybox' } }, mode: { kind: 'replicated' }, endpoint: { mode: 'vip', ports } };
}

function service(id: string, name: string, endpointPorts: PortConfig[]): Service {
  return { id, version: 1, createdAt: '', updatedAt: '', spec: { ...spec([]), name }, endpointPorts };
}

test('an ingress port without a published port gets the lowest free one of 30000-32767, kept across updates', () => {
  const others = [service('a', 'other', [{ protocol: 'tcp', target: 80, published: 30000, mode: 'ingress' }])];
  const first = publishPorts(spec([{ protocol: 'tcp', target: 80, mode: 'ingress' }, { protocol: 'udp', target: 53, mode: 'ingress' }]), undefined, others, []);
  assert.deepEqual(first.map((p) => p.published), [30001, 30000]);
  // The other service's port goes; an update keeps the one picked before.
  const again = publishPorts(spec([{ protocol: 'tcp', target: 80, mode: 'ingress' }]), 'self', [], first);
  assert.deepEqual(again.map((p) => p.published), [30001]);
});

test('an ingress port another service publishes is refused; host-mode ports are left as asked', () => {
  const others = [service('a1b2', 'shop_web', [{ protocol: 'tcp', target: 80, published: 8080, mode: 'ingress' }])];
  assert.throws(
    () => publishPorts(spec([{ protocol: 'tcp', target: 8000, published: 8080, mode: 'ingress' }]), undefined, others, []),
    (e: unknown) => e instanceof EngineError && e.message === "port '8080' is already in use by service 'shop_web' (a1b2) as an ingress port",
  );
  // Its own port is no conflict for the service itself; udp 8080 is another port.
  assert.equal(publishPorts(spec([{ protocol: 'tcp', target: 80, published: 8080, mode: 'ingress' }]), 'a1b2', others, [])[0]?.published, 8080);
  assert.equal(publishPorts(spec([{ protocol: 'udp', target: 80, published: 8080, mode: 'ingress' }]), undefined, others, [])[0]?.published, 8080);
  assert.deepEqual(publishPorts(spec([{ protocol: 'tcp', target: 80, mode: 'host' }]), undefined, others, []), [{ protocol: 'tcp', target: 80, mode: 'host' }]);
});
