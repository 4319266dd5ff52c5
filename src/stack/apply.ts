/**
 * Carries out a deploy plan on a swarm, reporting each step as `docker stack deploy` does
 * ("Creating network x", "Updating service x (id: ...)"). Order: updates of secrets and configs
 * first (the swarm refuses a secret whose data changed: then nothing else has been done yet),
 * then removals (--prune), networks, new secrets and configs, and services, several at a time.
 * An update that lost a race with another writer (the service's version moved on) is planned
 * again from the service as it is now and sent once more.
 */
import type { NetworkSpec, ServiceSpec, SwarmCluster, WriteOptions } from '../contract/swarm.js';
import { EngineError } from '../contract/errors.js';
import { FlotillaError } from '../errors.js';
import { Limiter } from '../execute/limiter.js';
import { withDigest } from './image-ref.js';
import { specForUpdate, type Action, type Plan, type PlanOptions } from './plan.js';

export interface ApplyOptions extends PlanOptions {
  /** --with-registry-auth: the nodes get the user's registry credentials. */
  sendRegistryAuth?: boolean;
  /** One line per step done. */
  report: (line: string) => void;
  /** Warnings from the swarm (one per line). */
  warn: (line: string) => void;
}

export interface Applied {
  /** Services created or updated, by swarm name → id (what --wait watches). */
  changed: Map<string, string>;
  /** Every service of the stack, by swarm name → id. */
  all: Map<string, string>;
}

const PARALLEL_SERVICES = 8;

function digestWarning(image: string): string {
  return `image ${image} could not be accessed on a registry to record its digest. Each node will access ${image} independently, possibly leading to different nodes running different versions of the image.`;
}

/** Pins the image by digest where the registry answers (--resolve-image), as Docker's client does. */
async function resolveImage(cluster: SwarmCluster, spec: ServiceSpec, write: WriteOptions, warn: (line: string) => void): Promise<ServiceSpec> {
  const image = spec.task.container.image;
  const found = await cluster.distribution(image, write);
  if (!found) {
    warn(digestWarning(image));
    return spec;
  }
  const out = structuredClone(spec);
  out.task.container.image = withDigest(image, found.digest);
  const platforms = found.platforms.map((p) => ({ os: p.os, architecture: p.architecture.toLowerCase() === 'arm' ? '' : p.architecture }));
  if (platforms.length > 0) out.task.placement = { ...out.task.placement, platforms };
  return out;
}

function isOutOfSequence(e: unknown): boolean {
  return e instanceof EngineError && /out of sequence|version .* out of date/i.test(e.message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A network a removed stack left behind is listed until its last task has stopped, and cannot be
 * used meanwhile: a deploy right after `stack rm` finds it, does not create it, and its services
 * are refused ("network ... not found"). Docker's CLI fails there; here the network is waited for
 * until it is gone, made again, and the service sent again.
 */
class PendingNetworks {
  private readonly remade = new Map<string, Promise<void>>();

  constructor(
    private readonly cluster: SwarmCluster,
    private readonly plan: Plan,
    private readonly report: (line: string) => void,
  ) {}

  /** The stack's network a refusal names, if it is one. */
  missing(e: unknown): NetworkSpec | undefined {
    if (!(e instanceof EngineError)) return undefined;
    const m = /network (\S+) not found/.exec(e.message);
    return m ? this.plan.networks.find((n) => n.name === m[1]) : undefined;
  }

  remake(spec: NetworkSpec): Promise<void> {
    let p = this.remade.get(spec.name);
    if (!p) {
      p = (async () => {
        const started = Date.now();
        while ((await this.cluster.inspectNetwork(spec.name)) !== null) {
          if (Date.now() - started > 120_000) throw new FlotillaError(`network ${spec.name} is still being removed after 2 minutes`);
          await sleep(500);
        }
        this.report(`Creating network ${spec.name} (the one a removed stack left was still going away)`);
        await this.cluster.createNetwork(spec);
      })();
      this.remade.set(spec.name, p);
    }
    return p;
  }
}

export async function applyPlan(cluster: SwarmCluster, plan: Plan, options: ApplyOptions): Promise<Applied> {
  const changed = new Map<string, string>();
  const all = new Map<string, string>();
  const write: WriteOptions = options.sendRegistryAuth ? { sendRegistryAuth: true } : {};
  const of = <K extends Action['kind']>(kind: K) => plan.actions.filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);

  for (const a of of('update-secret')) {
    try {
      await cluster.updateSecret(a.id, a.version, a.spec);
    } catch (e) {
      if (e instanceof EngineError && /only updates to labels/i.test(e.message)) {
        throw new FlotillaError(`secret ${a.name} has changed, and a swarm secret cannot change: give it a new name (e.g. name: ${a.name}_v2) and deploy again`);
      }
      throw e;
    }
  }
  for (const a of of('update-config')) await cluster.updateConfig(a.id, a.version, a.spec);
  for (const a of of('remove-service')) {
    options.report(`Removing service ${a.name}`);
    await cluster.removeService(a.id);
  }
  for (const a of of('create-network')) {
    options.report(`Creating network ${a.name}`);
    await cluster.createNetwork(a.spec);
  }
  for (const a of of('create-secret')) {
    options.report(`Creating secret ${a.name}`);
    await cluster.createSecret(a.spec);
  }
  for (const a of of('create-config')) {
    options.report(`Creating config ${a.name}`);
    await cluster.createConfig(a.spec);
  }

  for (const a of of('keep-service')) all.set(a.name, a.id);
  const pending = new PendingNetworks(cluster, plan, options.report);
  /** Once more after making again a network that was still being removed. */
  const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      const network = pending.missing(e);
      if (!network) throw e;
      await pending.remake(network);
      return fn();
    }
  };
  const limiter = new Limiter(PARALLEL_SERVICES);
  const work = [...of('create-service'), ...of('update-service')].map((a) =>
    limiter.run(async () => {
      const auth = write;
      if (a.kind === 'create-service') {
        options.report(`Creating service ${a.name}`);
        const spec = a.resolveImage ? await resolveImage(cluster, a.spec, auth, options.warn) : a.spec;
        const { id, warnings } = await retrying(() => cluster.createService(spec, auth));
        warnings.forEach((w) => options.warn(w));
        changed.set(a.name, id);
        all.set(a.name, id);
        return;
      }
      options.report(`Updating service ${a.name} (id: ${a.id})`);
      let version = a.version;
      let spec = a.spec;
      for (let attempt = 0; ; attempt++) {
        try {
          const sent = a.resolveImage ? await resolveImage(cluster, spec, auth, options.warn) : spec;
          const { warnings } = await retrying(() => cluster.updateService(a.id, version, sent, auth));
          warnings.forEach((w) => options.warn(w));
          break;
        } catch (e) {
          if (!isOutOfSequence(e) || attempt >= 2) throw e;
          // Someone else updated the service meanwhile: start again from what it is now.
          const now = await cluster.inspectService(a.id);
          if (!now) throw e;
          version = now.version;
          spec = specForUpdate(a.desired, now, options).spec;
        }
      }
      changed.set(a.name, a.id);
      all.set(a.name, a.id);
    }),
  );
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { changed, all };
}
