/**
 * What the e2e tests look at, asked of the embedded engine instead of the docker CLI (the tests
 * are synchronous, so lib.ts runs this file as a process): `node embedded-query.js SOCKET OP ...`
 * prints the answer as JSON, in the shapes lib.ts reads from `docker` for dockerd.
 *   containers PROJECT   [name, id][] of every container of the project
 *   running PROJECT      names of its running containers
 *   inspect NAME         the container in `docker inspect`'s shape (the fields the tests read)
 *   networks PROJECT     names of its networks
 *   volumes PROJECT      names of its labelled volumes
 *   mounted ID...        names of the volumes those containers mount
 *   image-id REF         the image's id
 *   remove-container N   removes a stopped container
 *   restart NAME         restarts the container, no grace period
 *   all-volumes          names of every volume
 *   remove PROJECT VOL.. removes the project's containers, networks and the volumes named
 */
import { EmbeddedEngine } from '../../src/engine/embedded/client.js';

const LABEL_PROJECT = 'com.docker.compose.project';

async function answer(engine: EmbeddedEngine, op: string, args: string[]): Promise<unknown> {
  const project = args[0] ?? '';
  const of = { [LABEL_PROJECT]: project };
  switch (op) {
    case 'containers':
      return (await engine.listContainers({ labels: of, all: true })).map((c) => [c.name, c.id]);
    case 'running':
      return (await engine.listContainers({ labels: of, all: false })).map((c) => c.name);
    case 'inspect': {
      const i = await engine.inspectContainer(project);
      if (!i) throw new Error(`no such container: ${project}`);
      return {
        Id: i.id,
        Name: `/${i.name}`,
        Created: i.created,
        State: {
          Status: i.state.status,
          Running: i.state.running,
          Paused: i.state.paused,
          ExitCode: i.state.exitCode,
          StartedAt: i.state.startedAt,
          FinishedAt: i.state.finishedAt,
          ...(i.state.health ? { Health: { Status: i.state.health.status } } : {}),
        },
        Config: { Env: i.config.env, Labels: i.labels },
        Mounts: i.mounts.map((m) => ({ Type: m.type, ...(m.name ? { Name: m.name } : {}), Destination: m.destination })),
      };
    }
    case 'networks':
      return (await engine.listNetworks(of)).map((n) => n.name);
    case 'volumes':
      return (await engine.listVolumes(of)).map((v) => v.name);
    case 'mounted': {
      const names = new Set<string>();
      for (const id of args) for (const m of (await engine.inspectContainer(id))?.mounts ?? []) if (m.type === 'volume' && m.name) names.add(m.name);
      return [...names];
    }
    case 'image-id': {
      const image = await engine.inspectImage(project);
      if (!image) throw new Error(`no such image: ${project}`);
      return image.id;
    }
    case 'remove-container':
      await engine.removeContainer(project, {});
      return null;
    case 'restart':
      await engine.restartContainer(project, 0);
      return null;
    case 'all-volumes':
      return (await engine.listVolumes({})).map((v) => v.name);
    case 'remove': {
      const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
      for (const c of await engine.listContainers({ labels: of, all: true })) await quietly(engine.removeContainer(c.id, { force: true, volumes: true }));
      for (const n of await engine.listNetworks(of)) await quietly(engine.removeNetwork(n.id));
      for (const v of args.slice(1)) await quietly(engine.removeVolume(v, true));
      return null;
    }
    default:
      throw new Error(`unknown query ${op}`);
  }
}

const [socket, op, ...args] = process.argv.slice(2);
if (!socket || !op) {
  process.stderr.write('usage: embedded-query SOCKET OP [ARGS...]\n');
  process.exit(2);
}
const engine = new EmbeddedEngine(socket);
try {
  process.stdout.write(`${JSON.stringify(await answer(engine, op, args))}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
} finally {
  engine.close();
}
