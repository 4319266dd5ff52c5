/**
 * The build context inside the daemon: the CLI's context tar (its .dockerignore applied, owners
 * 0:0, as the CLI sends it to dockerd) unpacked into the build's own directory, so every step
 * reads one fixed snapshot. Members are checked as image layers are (no absolute names, no "..",
 * no links leaving the context, no devices).
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { EngineError } from '../../engine/errors.js';

/**
 * Unpacks with GNU tar: it refuses ".." members and strips leading "/" by default;
 * --no-overwrite-dir and a fresh directory keep a member from writing through a link.
 */
export async function unpackContext(tar: Readable, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('tar', ['-x', '-C', dir, '--no-same-owner', '--no-overwrite-dir', '--delay-directory-restore', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.stdin.on('error', () => undefined);
    tar.on('error', (e) => {
      child.kill('SIGKILL');
      reject(e);
    });
    tar.pipe(child.stdin);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new EngineError('invalid', `cannot unpack the build context: ${err.trim().split('\n')[0]}`))));
  });
}
