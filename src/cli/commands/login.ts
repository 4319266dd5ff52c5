/**
 * `flotilla login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]` and `flotilla logout
 * [SERVER]`, as `docker login` and `docker logout` do them: the credentials are checked against
 * the registry (its /v2/ endpoint, with the challenge it answers), then stored in the Docker config
 * (~/.docker/config.json, or the credential helper it names). The password is never printed;
 * given on the command line it draws Docker's warning. SERVER defaults to Docker Hub.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { daemonPaths } from '../../daemon/paths.js';
import { eraseCredentials, serverKey, storeCredentials } from '../../engine/credentials.js';
import type { CliContext } from '../context.js';

/** "https://reg.example:5000/v2/" → "reg.example:5000"; Docker Hub's names → docker.io. */
export function registryHost(server: string | undefined): string {
  if (!server) return 'docker.io';
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === '' || /\s/.test(host)) throw new UsageError(`invalid registry ${JSON.stringify(server)}`);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

export function registerLogin(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('Log in to a registry (credentials checked, then stored where docker login stores them)')
    .argument('[server]', 'registry host[:port] (default Docker Hub)')
    .option('-u, --username <username>')
    .option('-p, --password <password>')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (server: string | undefined, flags: { username?: string; password?: string; passwordStdin?: boolean }) => {
      const host = registryHost(server);
      if (flags.password !== undefined && flags.passwordStdin) throw new UsageError('--password and --password-stdin are exclusive');
      if (!flags.username) throw new UsageError('a username is needed: -u USER');
      let password = flags.password;
      if (flags.passwordStdin) password = await readStdin();
      else if (password !== undefined) ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      if (!password) throw new UsageError('a password is needed: --password-stdin (or -p)');
      // Loaded only here: the registry client (TLS, HTTP) is a large part other commands do without.
      const [{ RegistryClient }, { registrySettingsFrom }, { RegistryTransport }, { readDaemonJson }] = await Promise.all([import('../../daemon/registry/client.js'), import('../../daemon/registry/service.js'), import('../../daemon/registry/transport.js'), import('../../daemon/daemon-json.js')]);
      const settings = registrySettingsFrom(await readDaemonJson(daemonPaths(ctx.env)));
      const apiHost = host === 'docker.io' ? 'registry-1.docker.io' : host;
      await new RegistryClient(new RegistryTransport(settings), apiHost, { username: flags.username, password }).ping();
      const where = await storeCredentials(host, { username: flags.username, password }, ctx.env);
      ctx.stdout.write(`Login Succeeded (credentials of ${serverKey(host)} stored in ${where})\n`);
    });

  program
    .command('logout')
    .description('Remove the stored credentials of a registry')
    .argument('[server]', 'registry host[:port] (default Docker Hub)')
    .action(async (server: string | undefined) => {
      const host = registryHost(server);
      const removed = await eraseCredentials(host, ctx.env);
      ctx.stdout.write(removed ? `Removing login credentials for ${serverKey(host)}\n` : `Not logged in to ${serverKey(host)}\n`);
    });
}
