/**
 * One DNS listener: UDP and TCP on a network's gateway address, port 53. Every message is handed
 * to `handle` with the client's address; its reply (if any) goes back the way the query came.
 * TCP connections may carry several length-prefixed queries; each is answered in turn.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';

export type DnsHandler = (message: Buffer, client: string, transport: 'udp' | 'tcp') => Promise<Buffer | null>;

const TCP_IDLE_MS = 10_000;

export class DnsListener {
  private udp: Socket | null = null;
  private tcp: Server | null = null;
  private readonly connections = new Set<TcpSocket>();

  constructor(
    readonly address: string,
    private readonly handle: DnsHandler,
    private readonly log: (line: string) => void,
    readonly port = 53,
  ) {}

  async start(): Promise<void> {
    const udp = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: this.address, port: this.port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (e) => this.log(`dns ${this.address}: udp: ${e.message}`));
    udp.on('message', (msg, rinfo) => {
      this.handle(msg, rinfo.address, 'udp')
        .then((reply) => {
          if (reply && this.udp) this.udp.send(reply, rinfo.port, rinfo.address);
        })
        .catch((e: Error) => this.log(`dns ${this.address}: ${e.message}`));
    });
    this.udp = udp;

    const tcp = createServer((conn) => this.serveTcp(conn));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: this.address, port: this.port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      this.udp = null;
      throw e;
    }
    tcp.on('error', (e) => this.log(`dns ${this.address}: tcp: ${e.message}`));
    this.tcp = tcp;
  }

  private serveTcp(conn: TcpSocket): void {
    this.connections.add(conn);
    conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
    conn.on('close', () => this.connections.delete(conn));
    conn.on('error', () => conn.destroy());
    let buffered = Buffer.alloc(0);
    let queue = Promise.resolve();
    conn.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + msg.length);
        queue = queue.then(async () => {
          const reply = await this.handle(msg, conn.remoteAddress?.replace(/^::ffff:/, '') ?? '', 'tcp').catch((e: Error) => {
            this.log(`dns ${this.address}: ${e.message}`);
            return null;
          });
          if (reply && !conn.destroyed) {
            const length = Buffer.alloc(2);
            length.writeUInt16BE(reply.length);
            conn.write(Buffer.concat([length, reply]));
          }
        });
      }
    });
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    for (const c of this.connections) c.destroy();
    await Promise.all([
      udp ? new Promise<void>((resolve) => udp.close(() => resolve())) : undefined,
      tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : undefined,
    ]);
  }
}
