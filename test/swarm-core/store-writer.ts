/**
 * Run by store.test.ts as a child process: writes to a swarm store in a loop until killed. Each
 * transaction creates task t<n> and sets service "counter" to n; after the commit returns, it
 * prints n (so the parent knows n was committed).
 */
import { SwarmStore } from '../../src/swarm/store.js';
import type { Service, Task } from '../../src/contract/swarm.js';

const store = new SwarmStore(process.argv[2] as string, { compactAfterBytes: Number(process.argv[3] ?? 1 << 20) });
store.open();
let n = (store.get('service', 'counter')?.spec.labels.n ?? '0') === '0' ? 0 : Number(store.get('service', 'counter')?.spec.labels.n);
const pad = 'x'.repeat(200);
for (;;) {
  n += 1;
  const seq = n;
  store.transact((tx) => {
    tx.create('task', { id: `t${seq}`, serviceId: 'counter', slot: seq, nodeId: 'n', desiredState: 'running', state: 'new', timestamp: '', message: pad, image: 'busybox', ports: [], spec: { container: { image: 'busybox' } } } as Omit<Task, 'version' | 'createdAt' | 'updatedAt'>);
    const current = tx.get('service', 'counter');
    const spec = { name: 'counter', labels: { n: String(seq) }, task: { container: { image: 'busybox' } }, mode: { kind: 'replicated' as const } };
    if (current) tx.update('service', { ...current, spec }, current.version);
    else tx.create('service', { id: 'counter', spec, endpointPorts: [] } as Omit<Service, 'version' | 'createdAt' | 'updatedAt'>);
  });
  process.stdout.write(`${seq}\n`);
}
