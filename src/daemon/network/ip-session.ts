/**
 * One long-lived `ip -batch -` in the daemon's netns for the host's side of container starts (a
 * veth made a bridge port): a command costs a line written to a pipe instead of a fork of the
 * daemon and a start of `ip`.
 *
 * `ip -o -force -batch -` runs the lines it reads one by one, goes on after a failed one, and
 * flushes its output after each. After a request's lines comes a marker, `link show dev lo`,
 * which prints one line (lo is ifindex 1 in every netns); errors go to the same pipe (2>&1), so
 * whatever arrives before a request's marker is that request's: "Command failed -:N" lines mean
 * it failed, and the lines before them say why.
 *
 * ip caches the index of every link name it has looked up, so a link deleted and made again under
 * the same name (a bridge restored after a reboot) is a stale entry to it: a failed request is run
 * once more in a fresh ip, and the old one is retired (it finishes what it was given, then ends).
 * The requests must therefore be idempotent. A process is held (ref) only while requests are
 * pending, and ends by itself when the daemon does (its stdin closes).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { EngineError } from '../../contract/errors.js';

const MARKER_LINE = 'link show dev lo';
const MARKER_OUTPUT = /^1: lo: /;
const FAILED = /^Command failed -:\d+$/;

/** ip ran the request and said a command of it failed. */
class IpCommandFailed extends EngineError {}

interface Pending {
  what: string;
  output: string[];
  failed: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

class IpProcess {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly pending: Pending[] = [];
  private buffered = '';
  dead = false;

  constructor(private readonly timeoutMs: number) {
    this.child = spawn('sh', ['-c', 'exec ip -o -force -batch - 2>&1'], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.received(chunk));
    this.child.stdin.on('error', () => undefined); // reported through 'exit'
    this.child.on('error', (e) => this.kill(new EngineError('engine', `ip: ${e.message}`)));
    this.child.on('exit', (code, signal) => this.kill(new EngineError('engine', `ip -batch ended (${signal ?? `exit ${code}`})`)));
  }

  send(lines: readonly string[]): Promise<void> {
    if (this.dead) return Promise.reject(new EngineError('engine', 'ip -batch has ended'));
    return new Promise<void>((resolve, reject) => {
      const what = `ip ${lines[0]}${lines.length > 1 ? ` (+${lines.length - 1})` : ''}`;
      const timer = setTimeout(() => this.kill(new EngineError('engine', `${what}: no answer from ip within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.pending.push({ what, output: [], failed: false, resolve, reject, timer });
      this.hold(true);
      this.child.stdin.write(`${lines.join('\n')}\n${MARKER_LINE}\n`);
    });
  }

  /** No more requests: ip answers those it has, then ends at the end of its input. */
  retire(): void {
    this.dead = true;
    this.child.stdin.end();
  }

  /** Ends ip now; pending requests fail with `error`. */
  kill(error: Error): void {
    this.dead = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  private received(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      const head = this.pending[0];
      if (!head) continue;
      if (MARKER_OUTPUT.test(line)) {
        this.pending.shift();
        clearTimeout(head.timer);
        if (head.failed) head.reject(new IpCommandFailed('engine', `${head.what}: ${head.output.join('; ') || 'failed'}`));
        else head.resolve();
        if (this.pending.length === 0) this.hold(false);
      } else if (FAILED.test(line)) {
        head.failed = true;
      } else if (line !== '') {
        head.output.push(line);
      }
    }
  }

  /** Keeps the daemon's event loop alive only while a request waits for ip. */
  private hold(on: boolean): void {
    const output = this.child.stdout as Socket; // a pipe: a net.Socket, which has ref()/unref()
    if (on) {
      this.child.ref();
      output.ref();
    } else {
      this.child.unref();
      output.unref();
    }
  }
}

export class IpSession {
  private current: IpProcess | null = null;

  constructor(private readonly timeoutMs = 30_000) {}

  /** Runs `lines` (idempotent ip commands, as in `ip -batch`); rejects with ip's messages if one failed. */
  async run(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const bad = lines.find((l) => /[\n\r]/.test(l) || l.trim() === '');
    if (bad !== undefined) throw new EngineError('engine', `ip: not one command: ${JSON.stringify(bad)}`);
    const first = this.process();
    try {
      await first.send(lines);
    } catch (e) {
      if (!(e instanceof IpCommandFailed)) throw e;
      // Maybe a stale name in ip's cache: once more in a fresh ip.
      if (this.current === first) {
        first.retire();
        this.current = null;
      }
      await this.process().send(lines);
    }
  }

  /** Ends the ip process; pending requests fail. */
  close(): void {
    this.current?.kill(new EngineError('engine', 'ip: the session was closed'));
    this.current = null;
  }

  private process(): IpProcess {
    if (!this.current || this.current.dead) this.current = new IpProcess(this.timeoutMs);
    return this.current;
  }
}
