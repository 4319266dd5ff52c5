/** The daemon's configuration file, <root>/daemon.json: its path and its object (empty when absent). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../contract/errors.js';
import type { DaemonPaths } from './paths.js';

export interface DaemonJson {
  file: string;
  doc: Record<string, unknown>;
}

/** Read once at the daemon's start; each part of the daemon takes its keys from the result. */
export async function readDaemonJson(paths: DaemonPaths): Promise<DaemonJson> {
  const file = join(paths.root, 'daemon.json');
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EngineError('invalid', `${file}: ${(e as Error).message}`);
    return { file, doc: {} };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new EngineError('invalid', `${file}: an object of settings is expected`);
  return { file, doc: doc as Record<string, unknown> };
}
