/**
 * Forwarding a query the embedded DNS does not answer itself. Over UDP each attempt uses its own
 * connected socket (a fresh random source port, answers accepted only from that upstream, and
 * only when id and question match); over TCP, one connection per attempt. Upstreams are tried in
 * turn, a new one every `staggerMs` while none has answered; the first answer wins; after
 * `timeoutMs` without one the caller answers SERVFAIL.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { answersQuery, type Query } from './codec.js';
import type { Upstream } from './upstreams.js';

export class Forwarder {
  constructor(
    private readonly timeoutMs: number,
    private readonly staggerMs = 500,
  ) {}

  /** The upstream's answer, or null when none answered in time. */
  forward(message: Buffer, query: Query, upstreams: readonly Upstream[], transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    if (upstreams.length === 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const cancels: (() => void)[] = [];
      const timers: NodeJS.Timeout[] = [];
      let done = false;
      let failed = 0;
      const finish = (answer: Buffer | null) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        for (const c of cancels) c();
        resolve(answer);
      };
      const attempt = (u: Upstream) => {
        if (done) return;
        let attemptFailed = false;
        const onResult = (answer: Buffer | null) => {
          // A stray or spoofed datagram is ignored; the attempt keeps waiting.
          if (answer && answersQuery(answer, query)) finish(answer);
          else if (!answer && !attemptFailed) {
            attemptFailed = true;
            if (++failed === upstreams.length) finish(null);
          }
        };
        cancels.push(transport === 'udp' ? udpAttempt(u, message, onResult) : tcpAttempt(u, message, query, onResult));
      };
      upstreams.forEach((u, i) => (i === 0 ? attempt(u) : timers.push(setTimeout(() => attempt(u), i * this.staggerMs))));
      timers.push(setTimeout(() => finish(null), this.timeoutMs));
    });
  }
}

/** Sends once; calls back with each datagram from the upstream, or null on an error. */
function udpAttempt(u: Upstream, message: Buffer, onResult: (answer: Buffer | null) => void): () => void {
  const socket = createSocket('udp4');
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      socket.close();
    }
  };
  socket.on('error', () => {
    close();
    onResult(null);
  });
  socket.on('message', (answer) => onResult(answer));
  socket.connect(u.port, u.host, () => socket.send(message));
  return close;
}

function tcpAttempt(u: Upstream, message: Buffer, query: Query, onResult: (answer: Buffer | null) => void): () => void {
  const socket = connect({ host: u.host, port: u.port });
  const chunks: Buffer[] = [];
  let reported = false;
  const report = (answer: Buffer | null) => {
    if (!reported) {
      reported = true;
      onResult(answer);
    }
  };
  socket.on('connect', () => {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length);
    socket.write(Buffer.concat([length, message]));
  });
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    const all = Buffer.concat(chunks);
    if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
      const answer = all.subarray(2, 2 + all.readUInt16BE(0));
      socket.destroy();
      report(answersQuery(answer, query) ? answer : null);
    }
  });
  socket.on('error', () => report(null));
  socket.on('close', () => report(null));
  return () => socket.destroy();
}
