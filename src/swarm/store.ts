/**
 * The swarm core's store: services, tasks, networks, secrets, configs and nodes, each a versioned
 * object (its `version` is the store's index at its last write, as Docker's Meta.Version.Index),
 * kept in memory and in one append-only log. A transaction is one log record: a line
 * `<crc32 hex> <json>`, appended and fsynced before the transaction counts as committed. On open
 * the log is replayed up to the first record that is torn or fails its checksum (a write a kill
 * cut short), and the file is cut there, so a kill -9 at any moment loses no committed
 * transaction and keeps no half of one. When the log has grown it is rewritten as a snapshot
 * (temporary file, fsync, rename), which is atomic as well.
 */
import { EventEmitter } from 'node:events';
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { EngineError } from '../contract/errors.js';
import { fromWireJson, toWireJson } from '../contract/protocol/swarm-json.js';
import type { Network, Node, Service, StoredObject, Task } from '../contract/swarm.js';

/**
 * A task as the core keeps it: the contract's Task, plus when a restarted task may start (its
 * restart delay) and the service version it was made for.
 */
export interface SwarmTask extends Task {
  /** Epoch ms before which a task made by a restart stays at desired state ready. */
  notBefore?: number;
}

export interface StoreObjects {
  service: Service;
  task: SwarmTask;
  node: Node;
  network: Network & { version: number; createdAt: string; updatedAt: string };
  secret: StoredObject;
  config: StoredObject;
}
export type ObjectKind = keyof StoreObjects;
export const OBJECT_KINDS: readonly ObjectKind[] = ['service', 'task', 'node', 'network', 'secret', 'config'];

export type StoreChange = { [K in ObjectKind]: { kind: K; action: 'create' | 'update' | 'delete'; object: StoreObjects[K] } }[ObjectKind];

type Operation = { op: 'put'; kind: ObjectKind; object: { id: string } } | { op: 'delete'; kind: ObjectKind; id: string };

interface LogRecord {
  /** The store's index after this record. */
  index: number;
  ops: Operation[];
}

interface Snapshot {
  snapshot: true;
  index: number;
  objects: { [K in ObjectKind]?: StoreObjects[K][] };
}

/** The writes of one transaction, applied together or not at all. */
export interface Transaction {
  get<K extends ObjectKind>(kind: K, id: string): StoreObjects[K] | undefined;
  list<K extends ObjectKind>(kind: K): StoreObjects[K][];
  /** A new object: its version and timestamps are set; returns it as stored. */
  create<K extends ObjectKind>(kind: K, object: Omit<StoreObjects[K], 'version' | 'createdAt' | 'updatedAt'>): StoreObjects[K];
  /**
   * Replaces the object. With `expectedVersion`, fails (conflict) unless the stored object still
   * has that version; the new version and updatedAt are set.
   */
  update<K extends ObjectKind>(kind: K, object: StoreObjects[K], expectedVersion?: number): StoreObjects[K];
  delete(kind: ObjectKind, id: string): void;
}

const COMPACT_AFTER_BYTES = 4 << 20;

export class SwarmStore {
  private readonly tables = new Map<ObjectKind, Map<string, { id: string; version: number }>>(OBJECT_KINDS.map((k) => [k, new Map()]));
  private readonly emitter = new EventEmitter();
  private fd = -1;
  private bytes = 0;
  private index = 0;
  private readonly path: string;

  private readonly compactAfter: number;

  /** `dir`: the store's folder (made when missing); the log is `dir/log`. */
  constructor(dir: string, options: { compactAfterBytes?: number } = {}) {
    this.path = join(dir, 'log');
    this.compactAfter = options.compactAfterBytes ?? COMPACT_AFTER_BYTES;
    this.emitter.setMaxListeners(0);
  }

  /** Reads the log (cutting off a torn last record) and opens it for appending. */
  open(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    let data: Buffer;
    try {
      data = readFileSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      data = Buffer.alloc(0);
    }
    let good = 0;
    for (let start = 0; start < data.length; ) {
      const end = data.indexOf(0x0a, start);
      if (end < 0) break;
      const record = parseRecord(data.subarray(start, end));
      if (!record) {
        // Only the last write can be torn (each is fsynced before the next); a bad record with a
        // good one after it is damage, and cutting it off would drop committed writes.
        if (goodRecordAfter(data, end + 1)) throw new EngineError('engine', `the swarm store ${this.path} is damaged at byte ${start} (a record fails its checksum and later records are intact): nothing was changed; move the file away to start with an empty swarm`);
        break;
      }
      if ('snapshot' in record) this.loadSnapshot(record);
      else this.apply(record.ops, record.index);
      good = end + 1;
      start = end + 1;
    }
    this.fd = openSync(this.path, 'a+', 0o600);
    if (good < data.length) {
      ftruncateSync(this.fd, good);
      fsyncSync(this.fd);
    }
    this.bytes = good;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.emitter.removeAllListeners();
  }

  /** The index of the last committed write. */
  get lastIndex(): number {
    return this.index;
  }

  get<K extends ObjectKind>(kind: K, id: string): StoreObjects[K] | undefined {
    return this.table(kind).get(id);
  }

  list<K extends ObjectKind>(kind: K): StoreObjects[K][] {
    return [...this.table(kind).values()];
  }

  /**
   * Runs `body` against the current objects and commits its writes as one record (durable when
   * this returns); an exception in `body` commits nothing. Watchers hear of the changes after.
   */
  transact<T>(body: (tx: Transaction) => T): T {
    if (this.fd < 0) throw new EngineError('engine', 'the swarm store is not open');
    const ops: Operation[] = [];
    const staged = new Map<string, { id: string; version: number } | null>();
    const index = this.index + 1;
    const now = new Date().toISOString();
    const key = (kind: ObjectKind, id: string) => `${kind}/${id}`;
    const read = <K extends ObjectKind>(kind: K, id: string): StoreObjects[K] | undefined => {
      const k = key(kind, id);
      if (staged.has(k)) return (staged.get(k) ?? undefined) as StoreObjects[K] | undefined;
      return this.get(kind, id);
    };
    const changes: StoreChange[] = [];
    const tx: Transaction = {
      get: read,
      list: (kind) => {
        const out = new Map(this.table(kind));
        for (const [k, v] of staged) {
          if (!k.startsWith(`${kind}/`)) continue;
          const id = k.slice(kind.length + 1);
          if (v === null) out.delete(id);
          else out.set(id, v as StoreObjects[typeof kind]);
        }
        return [...out.values()];
      },
      create: (kind, object) => {
        if (read(kind, object.id)) throw new EngineError('conflict', `${kind} ${object.id} already exists`);
        const stored = { ...object, version: index, createdAt: now, updatedAt: now } as unknown as StoreObjects[typeof kind];
        staged.set(key(kind, object.id), stored);
        ops.push({ op: 'put', kind, object: stored });
        changes.push({ kind, action: 'create', object: stored } as StoreChange);
        return stored;
      },
      update: (kind, object, expectedVersion) => {
        const current = read(kind, object.id);
        if (!current) throw new EngineError('not-found', `${kind} ${object.id} not found`);
        if (expectedVersion !== undefined && current.version !== expectedVersion) {
          throw new EngineError('conflict', `update out of sequence: ${kind} ${object.id} is at version ${current.version}, not ${expectedVersion}`);
        }
        const stored = { ...object, version: index, updatedAt: now };
        staged.set(key(kind, object.id), stored);
        ops.push({ op: 'put', kind, object: stored });
        changes.push({ kind, action: 'update', object: stored } as StoreChange);
        return stored;
      },
      delete: (kind, id) => {
        const current = read(kind, id);
        if (!current) return;
        staged.set(key(kind, id), null);
        ops.push({ op: 'delete', kind, id });
        changes.push({ kind, action: 'delete', object: current } as StoreChange);
      },
    };
    const result = body(tx);
    if (ops.length === 0) return result;
    this.append(serialize({ index, ops }));
    this.apply(ops, index);
    for (const change of changes) this.emitter.emit('change', change);
    if (this.bytes > this.compactAfter) this.compact();
    return result;
  }

  /** Calls `listener` after every committed change; returns the function that stops it. */
  watch(listener: (change: StoreChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  /** Rewrites the log as one snapshot record (temporary file, fsync, rename). */
  compact(): void {
    const objects: Snapshot['objects'] = {};
    for (const kind of OBJECT_KINDS) (objects as Record<string, unknown[]>)[kind] = this.list(kind);
    const line = serialize({ snapshot: true, index: this.index, objects });
    const temp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeAll(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    const dirFd = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a+', 0o600);
    this.bytes = line.length;
  }

  private table<K extends ObjectKind>(kind: K): Map<string, StoreObjects[K]> {
    return this.tables.get(kind) as unknown as Map<string, StoreObjects[K]>;
  }

  private append(line: Buffer): void {
    writeAll(this.fd, line);
    fsyncSync(this.fd);
    this.bytes += line.length;
  }

  private apply(ops: Operation[], index: number): void {
    for (const op of ops) {
      const table = this.tables.get(op.kind);
      if (!table) continue;
      if (op.op === 'put') table.set(op.object.id, op.object as { id: string; version: number });
      else table.delete(op.id);
    }
    this.index = index;
  }

  private loadSnapshot(snapshot: Snapshot): void {
    for (const kind of OBJECT_KINDS) {
      const table = this.table(kind);
      table.clear();
      for (const object of snapshot.objects[kind] ?? []) table.set(object.id, object);
    }
    this.index = snapshot.index;
  }
}

function serialize(record: LogRecord | Snapshot): Buffer {
  const json = Buffer.from(toWireJson(record));
  return Buffer.concat([Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `), json, Buffer.from('\n')]);
}

function parseRecord(line: Buffer): LogRecord | Snapshot | null {
  if (line.length < 10 || line[8] !== 0x20) return null;
  const json = line.subarray(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.subarray(0, 8).toString()) return null;
  try {
    return fromWireJson(json.toString()) as LogRecord | Snapshot;
  } catch {
    return null;
  }
}

function goodRecordAfter(data: Buffer, from: number): boolean {
  for (let start = from; start < data.length; ) {
    const end = data.indexOf(0x0a, start);
    if (end < 0) return false;
    if (parseRecord(data.subarray(start, end))) return true;
    start = end + 1;
  }
  return false;
}

function writeAll(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset);
}
