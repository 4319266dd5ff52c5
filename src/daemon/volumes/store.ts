/**
 * Named and anonymous volumes of the embedded engine: a folder per volume under
 * `<root>/volumes/<name>/_data` (bind-mounted into containers) and its `volume.json`. Only the
 * local driver without options exists; anything else is refused with a message.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { VolumeInfo, VolumeSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { DaemonPaths } from '../paths.js';
import { readJsonSync, writeJsonAtomic } from '../state/json-file.js';
import { moveAside, removeLeftoversLater } from '../state/remove-tree.js';

interface VolumeRecord {
  name: string;
  labels: Record<string, string>;
  created: string;
  anonymous: boolean;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class VolumeStore {
  private readonly volumes = new Map<string, VolumeRecord>();

  private leftovers: Promise<void> = Promise.resolve();

  constructor(
    private readonly paths: DaemonPaths,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /**
   * Loads every volume. Folders a killed daemon left half-made or half-removed (dot names) are
   * removed in the background; one that cannot be is logged and tried again at the next start.
   */
  async open(): Promise<void> {
    await mkdir(this.paths.volumes, { recursive: true, mode: 0o700 });
    const doomed: string[] = [];
    for (const name of readdirSync(this.paths.volumes)) {
      const dir = join(this.paths.volumes, name);
      if (name.startsWith('.')) {
        doomed.push(dir);
        continue;
      }
      const record = readJsonSync<VolumeRecord>(join(dir, 'volume.json'));
      if (record) this.volumes.set(record.name, record);
    }
    this.leftovers = removeLeftoversLater(doomed, (line) => this.log(`volumes: ${line}`));
  }

  /** Settles once the leftovers open() found are removed (or reported). */
  whenLeftoversRemoved(): Promise<void> {
    return this.leftovers;
  }

  info(record: VolumeRecord): VolumeInfo {
    return { name: record.name, driver: 'local', labels: { ...record.labels }, mountpoint: this.dataDir(record.name), options: {} };
  }

  dataDir(name: string): string {
    return join(this.paths.volumes, name, '_data');
  }

  get(name: string): VolumeInfo | null {
    const record = this.volumes.get(name);
    return record ? this.info(record) : null;
  }

  isAnonymous(name: string): boolean {
    return this.volumes.get(name)?.anonymous ?? false;
  }

  list(): VolumeInfo[] {
    return [...this.volumes.values()].map((r) => this.info(r));
  }

  /** Creates the volume, or returns it when it exists already (Docker does the same). */
  async create(spec: VolumeSpec, anonymous = false): Promise<VolumeInfo> {
    if (spec.driver && spec.driver !== 'local') {
      throw new EngineError('invalid', `volume driver "${spec.driver}" is not available on the embedded engine (only local)`);
    }
    if (Object.keys(spec.driverOpts).length > 0) {
      throw new EngineError('invalid', `volume ${spec.name}: driver options are not supported by the embedded engine`);
    }
    const name = spec.name === '' ? randomBytes(32).toString('hex') : spec.name;
    if (!NAME.test(name)) {
      throw new EngineError('invalid', `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
    }
    const existing = this.volumes.get(name);
    if (existing) return this.info(existing);
    const record: VolumeRecord = { name, labels: { ...spec.labels }, created: new Date().toISOString(), anonymous };
    const temp = join(this.paths.volumes, `.${name}.${randomBytes(4).toString('hex')}`);
    await mkdir(join(temp, '_data'), { recursive: true, mode: 0o755 });
    await writeJsonAtomic(join(temp, 'volume.json'), record);
    await rename(temp, join(this.paths.volumes, name));
    this.volumes.set(name, record);
    return this.info(record);
  }

  async remove(name: string, usedBy: string[], force = false): Promise<void> {
    if (!this.volumes.has(name)) {
      if (force) return;
      throw new EngineError('not-found', `get ${name}: no such volume`);
    }
    if (usedBy.length > 0) {
      throw new EngineError('conflict', `remove ${name}: volume is in use - [${usedBy.join(', ')}]`);
    }
    // Out of sight in one rename (a dot name, which open() treats as a leftover); files that cannot
    // be removed after that are logged and tried again at the next start.
    const doomed = await moveAside(join(this.paths.volumes, name), '.rm-');
    this.volumes.delete(name);
    if (doomed !== null) await removeLeftoversLater([doomed], (line) => this.log(`volumes: ${line}`));
  }
}
