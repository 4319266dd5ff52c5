/** The daemon's configuration file, <root>/daemon.json: its path and its object (empty when absent). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../contract/errors.js';
import type { DaemonPaths } from './paths.js';

export async function readDaemonJson(paths: DaemonPaths): Promise<{ file: string; doc: Record<string, unknown> }> {
  const file = join(paths.root, 'daemon.json');
  try {
    return { file, doc: JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EngineError('invalid', `${file}: ${(e as Error).message}`);
    return { file, doc: {} };
  }
}
