/**
 * The manager's files under paths.networks: `<network id>.json` per network and
 * `sandboxes/<container id>.json` per container, each written atomically (state/json-file.ts)
 * so a crash leaves either the old or the new content. A network's file is saved by containers
 * connecting and leaving at the same time: its saves are folded (LatestJsonFile).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LatestJsonFile, writeJsonAtomic } from '../state/json-file.js';
import { removeTree } from '../state/remove-tree.js';
import type { NetworkRecord, SandboxRecord } from './types.js';

export class NetworkStore {
  private readonly sandboxes: string;
  private readonly networkFiles = new Map<string, LatestJsonFile>();

  constructor(private readonly dir: string) {
    this.sandboxes = join(dir, 'sandboxes');
  }

  async init(): Promise<void> {
    await mkdir(this.sandboxes, { recursive: true });
  }

  private async readAll<T>(dir: string, isName: (file: string) => boolean, log: (line: string) => void): Promise<T[]> {
    const files = await readdir(dir).catch(() => [] as string[]);
    const out: T[] = [];
    for (const file of files.sort()) {
      if (!file.endsWith('.json') || !isName(file.slice(0, -5))) continue;
      try {
        out.push(JSON.parse(await readFile(join(dir, file), 'utf8')) as T);
      } catch (e) {
        log(`network state: skipping unreadable ${join(dir, file)}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  loadNetworks(log: (line: string) => void): Promise<NetworkRecord[]> {
    return this.readAll<NetworkRecord>(this.dir, (n) => /^[0-9a-f]{64}$/.test(n), log);
  }

  loadSandboxes(log: (line: string) => void): Promise<SandboxRecord[]> {
    return this.readAll<SandboxRecord>(this.sandboxes, (n) => /^[\w.-]+$/.test(n), log);
  }

  saveNetwork(n: NetworkRecord): Promise<void> {
    let file = this.networkFiles.get(n.id);
    if (!file) this.networkFiles.set(n.id, (file = new LatestJsonFile(join(this.dir, `${n.id}.json`))));
    return file.save(n);
  }

  /** Removes the network's file; saves of it still under way finish first, later ones are dropped. */
  async removeNetwork(id: string): Promise<void> {
    const file = this.networkFiles.get(id) ?? new LatestJsonFile(join(this.dir, `${id}.json`));
    this.networkFiles.set(id, file);
    await file.close();
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  saveSandbox(s: SandboxRecord): Promise<void> {
    return writeJsonAtomic(join(this.sandboxes, `${s.containerId}.json`), s);
  }

  async removeSandbox(containerId: string): Promise<void> {
    await rm(join(this.sandboxes, `${containerId}.json`), { force: true });
  }

  /** Every file of the manager (purge). */
  async removeAll(): Promise<void> {
    for (const file of this.networkFiles.values()) await file.close();
    await removeTree(this.sandboxes);
    for (const file of await readdir(this.dir).catch(() => [] as string[])) {
      if (file.endsWith('.json') || file.endsWith('.tmp')) await rm(join(this.dir, file), { force: true });
    }
  }
}
