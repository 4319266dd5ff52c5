/**
 * Removal of a tree the store owns, at any depth: rm(1) walks with directory descriptors, so a
 * layer holding a path deeper than PATH_MAX goes too (Node's recursive rm builds full paths and
 * fails there with ENAMETOOLONG). --one-file-system: a mount left inside is never crossed.
 */
import { run } from '../command.js';

export async function removeTree(path: string): Promise<void> {
  await run(['rm', '-rf', '--one-file-system', '--', path], { timeout: 600_000 });
}
