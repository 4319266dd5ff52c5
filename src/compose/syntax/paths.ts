/** Paths as docker-compose 1.29.2 (that is, Python's os.path) resolves them: normalised, "~" expanded, relative to a directory. */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

/** Python's os.path.normpath for POSIX paths ("" is ".", trailing slashes go, "//x" keeps both). */
export function pyNormpath(p: string): string {
  if (p === '') return '.';
  const doubleRoot = p.startsWith('//') && !p.startsWith('///');
  let out = posix.normalize(p);
  if (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  if (doubleRoot) out = `/${out}`;
  return out;
}

let passwd: Map<string, string> | undefined;

/** Home directories from /etc/passwd, as Python's pwd module sees them. */
function homeOf(user: string): string | undefined {
  if (!passwd) {
    passwd = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length >= 7 && f[0]) passwd.set(f[0], f[5] as string);
      }
    } catch {
      // No passwd file: "~user" stays as written, as in Python.
    }
  }
  return passwd.get(user);
}

/** Python's os.path.expanduser: "~" and "~/x" use `home`, "~user/x" that user's home; else as written. */
export function expandUser(p: string, home: string): string {
  if (!p.startsWith('~')) return p;
  const slash = p.indexOf('/');
  const user = slash === -1 ? p.slice(1) : p.slice(1, slash);
  const base = user === '' ? home : homeOf(user);
  if (base === undefined) return p;
  const rest = slash === -1 ? '' : p.slice(slash);
  return base.replace(/\/+$/, '') + rest || '/';
}

/** docker-compose's expand_path: absolute, relative to `dir`, with "~" expanded. */
export function expandPath(dir: string, p: string, home: string): string {
  return pyNormpath(posix.resolve(dir, expandUser(p, home)));
}
