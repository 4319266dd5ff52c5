/**
 * The container's process as Docker derives it from the service and the image: the command line
 * (entrypoint and command against the image's), the environment, the working directory and the
 * user (names looked up in the container's own /etc/passwd and /etc/group). Pure functions.
 */
import { EngineError } from '../../contract/errors.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Docker's rules: an entrypoint given by the service replaces the image's and drops the image's
 * command (the service's command, if any, follows it); an empty entrypoint clears the image's; a
 * missing or empty command takes the image's when no entrypoint is given.
 */
export function commandLine(spec: { entrypoint?: string[]; command?: string[] }, image: { Entrypoint?: string[] | null; Cmd?: string[] | null }): string[] {
  let argv: string[];
  if (spec.entrypoint && spec.entrypoint.length > 0) argv = [...spec.entrypoint, ...(spec.command ?? [])];
  else {
    const entrypoint = spec.entrypoint === undefined ? (image.Entrypoint ?? []) : [];
    const command = spec.command && spec.command.length > 0 ? spec.command : (image.Cmd ?? []);
    argv = [...entrypoint, ...command];
  }
  if (argv.length === 0) throw new EngineError('invalid', 'no command specified: the service has no entrypoint or command, and neither has the image');
  return argv;
}

/**
 * Merges environments by variable name, later lists overriding earlier ones and keeping the first
 * position; an entry without `=` removes the variable (as Docker's API treats it).
 */
export function mergeEnv(...lists: readonly (readonly string[])[]): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf('=');
      const key = eq < 0 ? entry : entry.slice(0, eq);
      if (key === '') continue;
      if (eq < 0) {
        values.delete(key);
        continue;
      }
      if (!values.has(key) && !order.includes(key)) order.push(key);
      values.set(key, entry);
    }
  }
  return order.filter((k) => values.has(k)).map((k) => values.get(k) as string);
}

/** The container's environment: PATH (unless the image or service sets it), HOSTNAME, TERM with a TTY, the image's, the service's. */
export function containerEnv(options: { imageEnv: readonly string[]; env: readonly string[]; hostname: string; tty: boolean }): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${options.hostname}`];
  if (options.tty) base.push('TERM=xterm');
  return mergeEnv(base, options.imageEnv, options.env);
}

export function workingDir(spec: { workingDir?: string }, image: { WorkingDir?: string }): string {
  const dir = spec.workingDir || image.WorkingDir || '/';
  if (!dir.startsWith('/')) throw new EngineError('invalid', `the working directory ${JSON.stringify(dir)} is invalid: it needs to be an absolute path`);
  return dir;
}

// ---- users --------------------------------------------------------------------------------------

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function isId(s: string): boolean {
  return /^\d+$/.test(s);
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [name = '', , uid = '', gid = '', , home = ''] = line.split(':');
    if (!isId(uid) || !isId(gid)) continue;
    out.push({ name, uid: Number(uid), gid: Number(gid), home });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [name = '', , gid = '', members = ''] = line.split(':');
    if (!isId(gid)) continue;
    out.push({ name, gid: Number(gid), members: members.split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

const MAX_ID = 2 ** 31 - 1;

function checkedId(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n > MAX_ID) throw new EngineError('invalid', `${what} ${value} is out of range (0 to ${MAX_ID})`);
  return n;
}

function groupId(name: string, groups: readonly GroupEntry[]): number {
  if (isId(name)) return checkedId(name, 'group id');
  const entry = groups.find((g) => g.name === name);
  if (!entry) throw new EngineError('invalid', `unable to find group ${name}: no matching entries in the container's /etc/group`);
  return entry.gid;
}

/**
 * "" (root), "uid", "name", "uid:gid", "name:group"... Names are looked up in the container's
 * files; a numeric uid need not exist there. Without an explicit group the user's primary group
 * applies (0 for an unknown uid) and the groups that list the user as a member are added; the
 * service's group_add always is.
 */
export function resolveUser(user: string, files: { passwd: string | null; group: string | null }, groupAdd: readonly string[] = []): ResolvedUser {
  const passwd = parsePasswd(files.passwd ?? '');
  const groups = parseGroup(files.group ?? '');
  const [userPart = '', groupPart, ...rest] = user.split(':');
  if (rest.length > 0) throw new EngineError('invalid', `invalid user ${JSON.stringify(user)}: expected user[:group]`);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (userPart === '') {
    uid = 0;
    entry = passwd.find((p) => p.uid === 0);
  } else if (isId(userPart)) {
    uid = checkedId(userPart, 'user id');
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw new EngineError('invalid', `unable to find user ${userPart}: no matching entries in the container's /etc/passwd`);
    uid = entry.uid;
  }
  const explicitGroup = groupPart !== undefined && groupPart !== '';
  const gid = explicitGroup ? groupId(groupPart, groups) : (entry?.gid ?? 0);
  const additional: number[] = [];
  if (!explicitGroup && entry) {
    for (const g of groups) if (g.members.includes(entry.name) && g.gid !== gid) additional.push(g.gid);
  }
  for (const g of groupAdd) additional.push(groupId(g, groups));
  return { uid, gid, additionalGids: [...new Set(additional)] };
}
