/**
 * Registry credentials for dockerd: those the Docker config holds for the image's registry
 * (../credentials.ts reads them as Docker's CLI does), sent as Docker's X-Registry-Auth header,
 * base64url JSON, on pull, push, the registry digest look-up and `--with-registry-auth`. Never printed.
 */
import { getCredentials, serverKey } from '../credentials.js';

/** The registry an image is pulled from: its first component when that is a host, else Docker Hub. */
export function registryOf(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost = image.includes('/') && (/[.:]/.test(first) || first === 'localhost');
  return isHost ? first : 'docker.io';
}

/** The header's value for an image ({} when there are no credentials: the nodes pull anonymously). */
export async function registryAuthFor(image: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const host = registryOf(image);
  const creds = await getCredentials(host, env);
  const auth: Record<string, string> = {};
  if (creds?.username !== undefined) auth['username'] = creds.username;
  if (creds?.password !== undefined) auth['password'] = creds.password;
  if (creds?.identityToken !== undefined) auth['identitytoken'] = creds.identityToken;
  if (creds) auth['serveraddress'] = serverKey(host);
  return encodeAuth(auth);
}

/**
 * Go's base64.URLEncoding, padded: dockerd 20.10 decodes the header with it, and an unpadded value
 * loses its last bytes (the JSON's closing brace), so the daemon falls back to no credentials.
 */
function encodeAuth(auth: Record<string, string>): string {
  const text = Buffer.from(JSON.stringify(auth)).toString('base64url');
  return text.padEnd(Math.ceil(text.length / 4) * 4, '=');
}
