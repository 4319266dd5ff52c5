/**
 * Registry credentials for `--with-registry-auth`, found as Docker's CLI finds them in
 * ~/.docker/config.json (or $DOCKER_CONFIG/config.json): a credential helper for the registry
 * (`credHelpers`), else the default store (`credsStore`), else the inline `auths` entry. They are
 * sent to the swarm as Docker's X-Registry-Auth header (base64url JSON) and never printed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../errors.js';

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

interface AuthConfig {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

const DOCKER_HUB = 'https://index.docker.io/v1/';

/** The registry an image is pulled from, as config.json keys it. */
export function registryOf(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost = image.includes('/') && (/[.:]/.test(first) || first === 'localhost');
  if (!isHost || first === 'docker.io' || first === 'index.docker.io' || first === 'registry-1.docker.io') return DOCKER_HUB;
  return first;
}

function readConfig(env: Readonly<Record<string, string | undefined>>): DockerConfig {
  const dir = env['DOCKER_CONFIG'] || join(env['HOME'] || homedir(), '.docker');
  let text: string;
  try {
    text = readFileSync(join(dir, 'config.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new EngineError('invalid', `cannot read ${join(dir, 'config.json')}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch {
    throw new EngineError('invalid', `${join(dir, 'config.json')} is not valid JSON`);
  }
}

function fromHelper(helper: string, registry: string): AuthConfig | undefined {
  const r = spawnSync(`docker-credential-${helper}`, ['get'], { input: registry, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new EngineError('invalid', `cannot run the credential helper docker-credential-${helper}: ${r.error.message}`);
  if (r.status !== 0) {
    if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
    throw new EngineError('invalid', `the credential helper docker-credential-${helper} failed for ${registry}`);
  }
  const out = JSON.parse(r.stdout) as { Username?: string; Secret?: string };
  // A helper answers "<token>" as the user name for identity tokens, as Docker's CLI reads it.
  if (out.Username === '<token>') return { identitytoken: out.Secret ?? '', serveraddress: registry };
  return { username: out.Username ?? '', password: out.Secret ?? '', serveraddress: registry };
}

function lookup(config: DockerConfig, registry: string): AuthConfig | undefined {
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) {
    const found = fromHelper(helper, registry);
    if (found) return found;
  }
  const entry = config.auths?.[registry] ?? (registry === DOCKER_HUB ? config.auths?.['docker.io'] : undefined);
  if (!entry) return undefined;
  const out: AuthConfig = { serveraddress: registry };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    out.username = colon >= 0 ? decoded.slice(0, colon) : decoded;
    out.password = colon >= 0 ? decoded.slice(colon + 1) : '';
  } else {
    if (entry.username !== undefined) out.username = entry.username;
    if (entry.password !== undefined) out.password = entry.password;
  }
  if (entry.identitytoken) out.identitytoken = entry.identitytoken;
  return out;
}

/** Encoded credentials for an image's registry ("" when there are none: the header says anonymous). */
export function registryAuthFor(image: string, env: Readonly<Record<string, string | undefined>>): string {
  const registry = registryOf(image);
  const auth = lookup(readConfig(env), registry) ?? { serveraddress: registry };
  return Buffer.from(JSON.stringify(auth)).toString('base64url');
}
