/**
 * What Node cannot do to a file system and a layer needs: overlay whiteouts (character devices
 * 0/0, made with mknod(1)), extended attributes (opaque directories, file capabilities, user.*:
 * set with setfattr(1) from the attr package, read with getfattr(1)). Each runs once per layer for
 * all its files, in the layer's directory, with relative names: nothing is looked up through a
 * symlink (-h) and no name reaches a shell.
 */
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../command.js';

/** overlayfs marks a directory that hides what the layers below have there. */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Names as getfattr writes them and setfattr --restore reads them: octal escapes for anything unusual. */
export function quoteName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._/+@:,-]/.test(c) ? c : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/** `path` (relative to `dir`) → attribute → value. */
export type XattrPlan = Map<string, Map<string, Buffer>>;

/**
 * Sets the attributes, all at once. Returns what could not be set (setfattr's own lines), for a
 * warning: as Docker does, an attribute the file system refuses does not fail the layer.
 */
export async function setXattrs(dir: string, plan: XattrPlan, scratch: string): Promise<string[]> {
  if (plan.size === 0) return [];
  const lines: string[] = [];
  for (const [path, attrs] of plan) {
    lines.push(`# file: ${quoteName(path === '' ? '.' : path)}`);
    for (const [name, value] of attrs) lines.push(`${quoteName(name)}=0s${value.toString('base64')}`);
    lines.push('');
  }
  const dump = join(scratch, `.xattrs-${process.pid}-${Date.now()}`);
  await writeFile(dump, `${lines.join('\n')}\n`, { mode: 0o600 });
  try {
    const r = await run(['setfattr', '-h', `--restore=${dump}`], { cwd: dir, allowFailure: true, timeout: 120_000 });
    return r.code === 0 ? [] : r.stderr.split('\n').filter((l) => l.trim() !== '');
  } finally {
    await rm(dump, { force: true });
  }
}

/** Makes overlay whiteouts (character devices 0/0) at the given paths, relative to `dir`. */
export async function makeWhiteouts(dir: string, paths: string[]): Promise<void> {
  for (let i = 0; i < paths.length; i += 500) {
    const batch = paths.slice(i, i + 500);
    await run(['sh', '-c', 'for p; do mknod -- "$p" c 0 0 || exit 1; done', 'sh', ...batch.map((p) => `./${p}`)], { cwd: dir, timeout: 120_000 });
  }
}

/**
 * Every extended attribute under `dir` (getfattr -R), by relative path. For the builder's diff
 * of an upper directory: opaque markers and capabilities set by a RUN step.
 */
export async function readXattrs(dir: string): Promise<XattrPlan> {
  const r = await run(['getfattr', '-R', '-h', '-d', '-m', '-', '-e', 'base64', '.'], { cwd: dir, allowFailure: true, timeout: 300_000 });
  const plan: XattrPlan = new Map();
  let current: Map<string, Buffer> | null = null;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      const name = unquoteName(line.slice('# file: '.length)).replace(/^\.\/?/, '');
      current = new Map();
      plan.set(name, current);
    } else if (current && line.includes('=')) {
      const eq = line.indexOf('=');
      const value = line.slice(eq + 1);
      current.set(unquoteName(line.slice(0, eq)), value.startsWith('0s') ? Buffer.from(value.slice(2), 'base64') : Buffer.from(value.replace(/^"|"$/g, '')));
    }
  }
  return plan;
}

function unquoteName(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const m = /^\\([0-7]{3})/.exec(text.slice(i, i + 4));
    if (m?.[1]) {
      bytes.push(Number.parseInt(m[1], 8));
      i += 3;
    } else if (text[i] === '\\' && text[i + 1] === '\\') {
      bytes.push(0x5c);
      i++;
    } else bytes.push(...Buffer.from(text[i] ?? '', 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
