/**
 * A registry token service for tests (the distribution token spec): GET /token with Basic
 * credentials, or POST /token with a refresh token (grant_type=refresh_token), answers a JWT
 * signed with RS256 by a key made here, its certificate in the header (x5c). docker-registry,
 * configured with `auth: token:` and that certificate as its rootcertbundle, verifies the tokens
 * itself: that verification is the real part a test drives. Users get every action they ask for;
 * an anonymous request gets a token that grants nothing (as Docker Hub gives one).
 *
 * It runs as a process of its own (`node token-service.js serve CONFIG`), not in the test's: the
 * tests run the CLI with spawnSync, which stops the test process's event loop. Every request is
 * recorded as a JSON line in the config's `log` (scopes, who, how), tokens and secrets included so
 * that a test can assert none of them reached an output or the daemon's log.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export interface TokenServiceConfig {
  service: string;
  issuer: string;
  /** PEM files of the signing key and its self-signed certificate (the registry's rootcertbundle). */
  key: string;
  cert: string;
  users: Record<string, string>;
  /** refresh token → the user it stands for. */
  refreshTokens: Record<string, string>;
  /** Where each request is recorded (a JSON line: TokenRequest). */
  log: string;
}

export interface TokenRequest {
  method: string;
  grant: 'basic' | 'refresh' | 'anonymous' | 'refused';
  user?: string;
  scopes: string[];
  /** The token given (absent when refused). */
  token?: string;
}

export interface TokenService {
  /** The realm URL ("http://127.0.0.1:PORT/token"). */
  realm: string;
  service: string;
  issuer: string;
  /** The certificate the registry trusts tokens by. */
  cert: string;
  users: Record<string, string>;
  refreshTokens: Record<string, string>;
  /** Every request answered so far. */
  requests(): TokenRequest[];
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** "repository:team/app:pull,push" → the access entry the JWT grants. */
function access(scope: string): { type: string; name: string; actions: string[] } | null {
  const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
  return m ? { type: m[1] ?? '', name: m[2] ?? '', actions: (m[3] ?? '').split(',') } : null;
}

function sign(config: TokenServiceConfig, subject: string, scopes: string[]): string {
  const cert = new X509Certificate(readFileSync(config.cert));
  const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.raw.toString('base64')] };
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: config.issuer,
    sub: subject,
    aud: config.service,
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(12).toString('hex'),
    access: subject === '' ? [] : scopes.map(access).filter((a) => a !== null),
  };
  const body = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(body).sign(createPrivateKey(readFileSync(config.key)));
  return `${body}.${base64url(signature)}`;
}

async function handle(config: TokenServiceConfig, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://token');
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  const params = req.method === 'POST' ? form : url.searchParams;
  const scopes = params.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
  const record = (r: TokenRequest): void => appendFileSync(config.log, `${JSON.stringify(r)}\n`);
  let grant: TokenRequest['grant'] = 'anonymous';
  let user = '';
  if (req.method === 'POST') {
    user = (params.get('grant_type') === 'refresh_token' && config.refreshTokens[params.get('refresh_token') ?? '']) || '';
    grant = user ? 'refresh' : 'refused';
  } else if (req.headers.authorization?.startsWith('Basic ')) {
    const text = Buffer.from(req.headers.authorization.slice(6), 'base64').toString('utf8');
    const colon = text.indexOf(':');
    user = text.slice(0, colon);
    grant = colon > 0 && config.users[user] === text.slice(colon + 1) ? 'basic' : 'refused';
  }
  if (url.pathname !== '/token' || params.get('service') !== config.service || grant === 'refused') {
    record({ method: req.method ?? '', grant: 'refused', user, scopes });
    res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
    return;
  }
  const token = sign(config, grant === 'anonymous' ? '' : user, scopes);
  record({ method: req.method ?? '', grant, ...(user ? { user } : {}), scopes, token });
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
}

function serve(configPath: string): void {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as TokenServiceConfig;
  const server = createServer((req, res) => {
    handle(config, req, res).catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  });
}

/** Starts a token service (stopped and its files removed when the test ends). */
export async function startTokenService(t: TestContext, users: Record<string, string>, refreshTokens: Record<string, string> = {}): Promise<TokenService> {
  const dir = mkdtempSync(join(tmpdir(), 'flt-token-service-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=flotilla test token issuer', '-keyout', key, '-out', cert]);
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr.toString()}`);
  const config: TokenServiceConfig = { service: `flt-registry-${randomBytes(3).toString('hex')}`, issuer: 'flotilla-test-issuer', key, cert, users, refreshTokens, log: join(dir, 'requests.jsonl') };
  writeFileSync(config.log, '');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', join(dir, 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`the token service exited (${code}): ${err}`)));
  });
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: config.service,
    issuer: config.issuer,
    cert,
    users,
    refreshTokens,
    requests: () =>
      readFileSync(config.log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as TokenRequest),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'serve') serve(process.argv[3] ?? '');
