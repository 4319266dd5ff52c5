/**
 * The processes of the in-memory backend (./memory-backend.ts): a tiny scripted "program" per
 * command line, run as an exec or as a container's main process, with real streams: output
 * queued for a reader, input through a Writable, terminal sizes recorded.
 *
 *   echo-stdin [CODE]  copies its input to stdout; at the end of input, exits CODE (default 0)
 *   upper [CODE]       the same, upper-cased
 *   print TEXT...      writes TEXT and "\n" to stdout, then "err\n" to stderr, exits 0
 *   report-size        waits for a terminal size, writes "ROWS COLUMNS\n", exits 0
 *   exit CODE          exits CODE at once
 *   sleep              runs until stopped (or killed)
 *
 * With a TTY, everything is stdout (as a terminal merges the streams).
 */
import { Writable } from 'node:stream';
import type { LogChunk } from '../../../src/contract/engine.js';

export class Program {
  readonly output: LogChunk[] = [];
  exitCode: number | undefined;
  readonly sizes: { rows: number; columns: number }[] = [];
  readonly input: Writable;
  private readonly listeners = new Set<() => void>();
  private readonly name: string;
  private readonly args: string[];
  private stdinEnded = false;

  constructor(
    readonly command: string[],
    readonly tty: boolean,
  ) {
    const [name, ...rest] = command;
    this.name = name ?? '';
    this.args = rest;
    this.input = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (name === 'echo-stdin') this.write('stdout', chunk);
        else if (name === 'upper') this.write('stdout', Buffer.from(chunk.toString().toUpperCase()));
        callback();
      },
      final: (callback) => {
        this.stdinEnded = true;
        if (name === 'echo-stdin' || name === 'upper') this.exit(Number(rest[0] ?? 0));
        callback();
      },
    });
  }

  /** Runs what the program does at once (before this, it only takes input). */
  start(): this {
    if (this.name === 'print') {
      this.write('stdout', Buffer.from(`${this.args.join(' ')}\n`));
      this.write('stderr', Buffer.from('err\n'));
      this.exit(0);
    } else if (this.name === 'exit') {
      this.exit(Number(this.args[0] ?? 0));
    }
    return this;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  get inputEnded(): boolean {
    return this.stdinEnded;
  }

  write(stream: LogChunk['stream'], data: Buffer): void {
    if (!this.running) return;
    this.output.push({ stream: this.tty ? 'stdout' : stream, data });
    this.changed();
  }

  resize(rows: number, columns: number): void {
    this.sizes.push({ rows, columns });
    if (this.command[0] === 'report-size' && this.running) {
      this.write('stdout', Buffer.from(`${rows} ${columns}\n`));
      this.exit(0);
    }
    this.changed();
  }

  exit(code: number): void {
    if (!this.running) return;
    this.exitCode = code;
    this.changed();
  }

  /** Calls `listener` on every change (output, exit) until the returned function is called. */
  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** The output from chunk `from` on, following until the program exits or `stop` resolves. */
  async *follow(from: number, stop?: Promise<unknown>): AsyncGenerator<LogChunk> {
    let next = from;
    let stopped = false;
    void stop?.then(() => {
      stopped = true;
      wake?.();
    });
    let wake: (() => void) | undefined;
    const unwatch = this.watch(() => wake?.());
    try {
      for (;;) {
        while (next < this.output.length) yield this.output[next++]!;
        if (!this.running || stopped) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      unwatch();
    }
  }

  /** Resolves with the exit code. */
  exited(signal?: AbortSignal): Promise<number> {
    if (this.exitCode !== undefined) return Promise.resolve(this.exitCode);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        unwatch();
        reject(signal?.reason);
      };
      const unwatch = this.watch(() => {
        if (this.exitCode === undefined) return;
        unwatch();
        signal?.removeEventListener('abort', onAbort);
        resolve(this.exitCode);
      });
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
