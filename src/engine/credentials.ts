/**
 * Registry credentials where Docker keeps them: $DOCKER_CONFIG/config.json (default
 * ~/.docker/config.json). `credHelpers` names a helper per registry, `credsStore` one for all,
 * and `auths` holds base64 "user:password" (or an identity token) for the rest. Helpers are run as
 * Docker runs them: `docker-credential-<name> get|store|erase`, the server on standard input, JSON
 * on standard output. Nothing here prints or logs a secret; errors name the file or the helper.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FlotillaError } from '../errors.js';

export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

/** The key Docker files Docker Hub's credentials under. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export class CredentialsError extends FlotillaError {}

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

export function configPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(env['DOCKER_CONFIG'] || join(env['HOME'] || homedir(), '.docker'), 'config.json');
}

/** The key a registry host is filed under: Docker Hub's URL for docker.io. */
export function serverKey(host: string): string {
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB_KEY : host;
}

async function readConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CredentialsError(`${path}: ${(e as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as ConfigFile;
  } catch (e) {
    throw new CredentialsError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Runs a credential helper; its output, or null for "credentials not found". */
function helper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<string | null> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => reject(new CredentialsError(e.code === 'ENOENT' ? `credential helper ${program} not found (named in the Docker config)` : `${program}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else if (/credentials not found/i.test(out + err)) resolve(null);
      else reject(new CredentialsError(`${program} ${action} failed (exit ${code}): ${(out || err).trim().split('\n')[0] ?? ''}`));
    });
    child.stdin.end(input);
  });
}

function helperFor(config: ConfigFile, key: string): string | null {
  return config.credHelpers?.[key] ?? config.credsStore ?? null;
}

/** The credentials for a registry host, or null when none are stored. */
export async function getCredentials(host: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<Credentials | null> {
  const path = configPath(env);
  const config = await readConfig(path);
  const key = serverKey(host);
  const name = helperFor(config, key);
  if (name) {
    const out = await helper(name, 'get', key);
    if (out === null || out.trim() === '') return null;
    let doc: { Username?: string; Secret?: string };
    try {
      doc = JSON.parse(out) as typeof doc;
    } catch {
      throw new CredentialsError(`docker-credential-${name} get: its answer is not JSON`);
    }
    if (!doc.Secret) return null;
    return doc.Username === '<token>' ? { identityToken: doc.Secret } : { username: doc.Username ?? '', password: doc.Secret };
  }
  const entry = config.auths?.[key] ?? config.auths?.[`https://${key}`] ?? config.auths?.[`http://${key}`];
  if (!entry) return null;
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon === -1) throw new CredentialsError(`${path}: the auth of ${key} is not base64 of user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (entry.username) return { username: entry.username, password: entry.password ?? '' };
  return null;
}

/**
 * Every registry's credentials the Docker config has (the hosts in `auths` and `credHelpers`), by
 * host (`docker.io` for Docker Hub), as the Docker CLI sends them all with a build: the build's
 * base images may come from any of them. Hosts without usable credentials are left out.
 */
export async function allCredentials(env: Readonly<Record<string, string | undefined>> = process.env): Promise<Record<string, Credentials>> {
  const config = await readConfig(configPath(env));
  const hosts = new Set<string>();
  for (const key of [...Object.keys(config.auths ?? {}), ...Object.keys(config.credHelpers ?? {})]) {
    hosts.add(key === DOCKER_HUB_KEY ? 'docker.io' : key.replace(/^https?:\/\//, '').replace(/\/.*$/, ''));
  }
  const out: Record<string, Credentials> = {};
  for (const host of [...hosts].sort()) {
    // A helper that fails for one registry leaves that one out; a build that needs it fails there.
    const found = await getCredentials(host, env).catch(() => null);
    if (found) out[host] = found;
  }
  return out;
}

/** Stores credentials as docker login does: in the helper when one is named, else in auths. */
export async function storeCredentials(host: string, creds: { username: string; password: string }, env: Readonly<Record<string, string | undefined>> = process.env): Promise<string> {
  const path = configPath(env);
  const config = await readConfig(path);
  const key = serverKey(host);
  const name = helperFor(config, key);
  if (name) {
    await helper(name, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }));
    const auths = { ...(config.auths ?? {}) };
    delete auths[key];
    await writeConfig(path, { ...config, auths: { ...auths, [key]: {} } });
    return `the credential helper docker-credential-${name}`;
  }
  const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  await writeConfig(path, { ...config, auths: { ...(config.auths ?? {}), [key]: { auth } } });
  return path;
}

/** Removes stored credentials; false when there were none. */
export async function eraseCredentials(host: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<boolean> {
  const path = configPath(env);
  const config = await readConfig(path);
  const key = serverKey(host);
  const name = helperFor(config, key);
  const had = config.auths?.[key] !== undefined;
  if (name) await helper(name, 'erase', key).catch(() => null);
  if (!had && !name) return false;
  const auths = { ...(config.auths ?? {}) };
  delete auths[key];
  await writeConfig(path, { ...config, auths });
  return true;
}
