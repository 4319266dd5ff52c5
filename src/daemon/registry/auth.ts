/**
 * Registry authentication as the distribution spec has it: a 401 names its scheme in
 * WWW-Authenticate. Basic: the credentials on every request. Bearer: a token from the realm
 * (GET realm?service=…&scope=…, with the credentials as Basic auth when there are any, or the
 * identity token as a refresh token by POST), kept per scope until it expires. Credentials are
 * never logged and never part of an error message.
 */
import { EngineError } from '../../contract/errors.js';
import { readBody, type RegistryTransport } from './transport.js';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token (docker login to some registries stores one instead of the password). */
  identityToken?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://auth",service="reg",scope="repository:a:pull"` → scheme and parameters. */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m?.[1]) return null;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (let p = re.exec(m[2] ?? ''); p; p = re.exec(m[2] ?? '')) {
    params[(p[1] ?? '').toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: m[1].toLowerCase(), params };
}

interface Token {
  value: string;
  expires: number;
}

export class RegistryAuth {
  private challenge: Challenge | null = null;
  private readonly tokens = new Map<string, Token>();

  constructor(
    private readonly transport: RegistryTransport,
    readonly host: string,
    private readonly credentials: RegistryCredentials | null,
  ) {}

  /** The Authorization header for `scope`, or null when the registry asked for none yet. */
  async header(scope: string): Promise<string | null> {
    const c = this.challenge;
    if (c === null) return null;
    if (c.scheme === 'basic') {
      if (!this.credentials?.username) return null;
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password ?? ''}`).toString('base64')}`;
    }
    if (c.scheme !== 'bearer') throw new EngineError('invalid', `${this.host}: unsupported authentication scheme ${JSON.stringify(c.scheme)}`);
    const known = this.tokens.get(scope);
    if (known && known.expires > Date.now()) return `Bearer ${known.value}`;
    const token = await this.fetchToken(c, scope);
    this.tokens.set(scope, token);
    return `Bearer ${token.value}`;
  }

  /** Takes the challenge of a 401; false when it brings nothing new (the credentials were refused). */
  learn(header: string | undefined, scope: string): boolean {
    const c = header ? parseChallenge(header) : null;
    if (c === null) return false;
    const had = this.challenge;
    this.challenge = c;
    this.tokens.delete(scope);
    return had === null || had.scheme !== c.scheme || (c.params['scope'] ?? '') !== (had.params['scope'] ?? '') || c.params['error'] === undefined;
  }

  private async fetchToken(c: Challenge, scope: string): Promise<Token> {
    const realm = c.params['realm'];
    if (!realm) throw new EngineError('invalid', `${this.host}: a bearer challenge without a realm`);
    const url = new URL(realm);
    if (c.params['service']) url.searchParams.set('service', c.params['service']);
    for (const s of scope.split(' ').filter(Boolean)) url.searchParams.append('scope', s);
    const creds = this.credentials;
    let r;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'flotilla', ...(c.params['service'] ? { service: c.params['service'] } : {}), scope });
      r = await this.transport.send(`${url.origin}${url.pathname}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) });
    } else {
      const headers: Record<string, string> = {};
      if (creds?.username) headers['Authorization'] = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
      r = await this.transport.send(url.toString(), { headers });
    }
    const body = await readBody(r, 1024 * 1024);
    if (r.status === 401 || r.status === 403) throw new EngineError('invalid', `${this.host}: unauthorized: the registry refused the credentials${creds?.username ? ` of ${creds.username}` : ' (none given: flotilla login first)'}`);
    if (r.status !== 200) throw new EngineError('engine', `${this.host}: the token service answered ${r.status}`);
    let doc: { token?: string; access_token?: string; expires_in?: number };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new EngineError('engine', `${this.host}: the token service answered something that is not JSON`);
    }
    const value = doc.token ?? doc.access_token;
    if (!value) throw new EngineError('engine', `${this.host}: the token service gave no token`);
    // Tokens last at least 60 s by the spec; a little less is assumed, to be safe.
    return { value, expires: Date.now() + Math.max(30, (doc.expires_in ?? 60) - 10) * 1000 };
  }
}
