// Benchmark of the embedded engine's API (gRPC on a unix socket), client and server in one
// process, the daemon side a stand-in backend that answers at once (so the figures are the wire's
// cost, not an engine's):
//   1. round-trip latency of a small unary call (version), sequential: median, p99, calls/s;
//   2. throughput of a log stream: --mb MiB of log lines (--line bytes each, sent in chunks of
//      --chunk KiB as a runtime's pipe would give them), every byte counted on the client.
//
//   npm run build && node bench/rpc.mjs [--calls N] [--mb N] [--line N] [--chunk N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDaemon } from '../dist/src/daemon/server.js';
import { EmbeddedEngine } from '../dist/src/engine/embedded/client.js';
import { machineLoad, option } from './lib.mjs';

const CALLS = Number(option('calls', '5000'));
const MB = Number(option('mb', '256'));
const LINE = Number(option('line', '100'));
const CHUNK = Number(option('chunk', '64')) << 10;
for (const [name, n] of [['calls', CALLS], ['mb', MB], ['line', LINE], ['chunk', CHUNK]]) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
}

const line = Buffer.from(`${'x'.repeat(LINE - 1)}\n`);
const chunk = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(CHUNK / LINE)) }, () => line));
const chunks = Math.ceil((MB << 20) / chunk.length);

/** Only what the benchmark calls; the server answers anything else UNIMPLEMENTED. */
const backend = {
  async version() {
    return { engine: 'embedded', version: 'bench', apiVersion: '1.0', os: 'linux', arch: process.arch };
  },
  async *containerLogs(_id, options) {
    for (let i = 0; i < chunks && !options.signal?.aborted; i++) yield { stream: i % 8 === 7 ? 'stderr' : 'stdout', data: chunk };
  },
};

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-rpc-'));
const socket = join(dir, 'engine.sock');
const server = await serveDaemon(backend, socket, { log: (l) => console.error(l) });
const engine = new EmbeddedEngine(socket);
try {
  console.log(`machine load ${machineLoad()}`);

  // 1. Latency.
  for (let i = 0; i < 200; i++) await engine.version(); // warm-up: connection, JIT
  const times = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    await engine.version();
    times.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  const total = Number(process.hrtime.bigint() - started) / 1e9;
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  console.log(
    `unary version(): ${CALLS} calls, median ${at(0.5).toFixed(0)} µs, p99 ${at(0.99).toFixed(0)} µs, ` +
      `min ${times[0].toFixed(0)} µs, ${(CALLS / total).toFixed(0)} calls/s`,
  );

  // 2. Throughput.
  for (const run of ['warm-up', 'measured']) {
    let bytes = 0;
    let items = 0;
    const t = process.hrtime.bigint();
    for await (const c of engine.containerLogs('bench', { follow: false, timestamps: false })) {
      bytes += c.data.length;
      items++;
    }
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    if (bytes !== chunks * chunk.length) throw new Error(`received ${bytes} bytes of ${chunks * chunk.length}`);
    if (run === 'measured') {
      console.log(
        `log stream: ${(bytes / 2 ** 20).toFixed(0)} MiB in ${items} chunks of ${(chunk.length / 1024).toFixed(1)} KiB ` +
          `(${LINE}-byte lines) in ${seconds.toFixed(2)} s: ${(bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s, ` +
          `${((bytes / LINE) / seconds / 1e6).toFixed(2)} M lines/s`,
      );
    }
  }
} finally {
  engine.close();
  await server.close(0);
  rmSync(dir, { recursive: true, force: true });
}
