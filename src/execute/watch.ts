/**
 * `watch` and `up --watch`: the services' `develop.watch` paths are watched, changes are gathered
 * until nothing has changed for a quiet period (Compose v2's 500 ms), and each batch is acted on
 * as Compose v2 does (docker/compose pkg/compose/watch.go): images rebuilt and their services
 * recreated first, then files synced into the running containers, then services restarted, then
 * each `sync+exec` command run in every container of its service. A batch that fails is reported
 * and watching goes on.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, FlotillaError } from '../errors.js';
import { selectServices } from '../model/select.js';
import type { Service } from '../model/service.js';
import { runHook } from './hooks.js';
import { buildServiceImage } from './images.js';
import { containersOf, restart } from './lifecycle.js';
import type { ProjectRuntime } from './runtime.js';
import { upServices } from './up.js';
import { boundByMount, RuleMatcher, type PathMapping } from './watch-rules.js';
import { syncInto } from './watch-sync.js';

/** Compose v2's quiet period: a batch is acted on once no change came for this long. */
const QUIET_PERIOD_MS = 500;

export interface WatchOptions {
  /** Remove the image a rebuild replaced, once nothing uses it. */
  prune: boolean;
  /** Where watch's own lines go ("Watch enabled", "Syncing service ..."). */
  log(line: string): void;
}

export interface Watching {
  /** Stops watching; resolves once the batch being acted on (if any) is done. */
  stop(): Promise<void>;
}

const isSync = (action: string) => action === 'sync' || action === 'sync+restart' || action === 'sync+exec';
const quoted = (names: readonly string[]) => `[${names.map((n) => JSON.stringify(n)).join(' ')}]`;

/** The rules of the selected services; a rule that cannot work is refused where it is written. */
export function watchRules(rt: ProjectRuntime, names: readonly string[], log: (line: string) => void): RuleMatcher[] {
  const services = selectServices(rt.deployment, rt.profiles, names);
  const rules: RuleMatcher[] = [];
  for (const service of services) {
    service.watch.forEach((rule, i) => {
      const at = (key: string) => rt.locateService(service.name, ['develop', 'watch', i, key]);
      if (rule.action === 'rebuild' && !service.build) throw new ConfigError(`can't watch service "${service.name}" with action rebuild without a build context`, at('action'));
      if (rule.action === 'sync+exec' && (rule.exec?.command.length ?? 0) === 0) throw new ConfigError(`can't watch with action "sync+exec" on service ${service.name} without a command`, at('action'));
      if (isSync(rule.action) && rule.target === undefined) throw new ConfigError(`action "${rule.action}" needs a target (where the files go in the containers)`, at('action'));
      if (isSync(rule.action) && boundByMount(service, rule.path)) {
        log(`path '${rule.path}' also declared by a bind mount volume, this path won't be monitored!`);
        return;
      }
      rules.push(new RuleMatcher(service, rule, i));
    });
  }
  if (rules.length === 0) throw new FlotillaError("none of the selected services is configured for watch, consider setting a 'develop' section");
  return rules;
}

/** Every file under a rule's path that the rule takes (its initial sync). */
async function initialFiles(m: RuleMatcher): Promise<PathMapping[]> {
  const out: PathMapping[] = [];
  const visit = async (path: string): Promise<void> => {
    const mapping = m.matches(path);
    const st = await stat(path).catch(() => null);
    if (!st) return;
    if (st.isDirectory()) {
      // A directory the ignores exclude is skipped whole; one outside `include` is still walked.
      const rel = path === m.rule.path ? '' : path.slice(m.rule.path.length + 1);
      if (rel !== '' && m.ignored(path, rel)) return;
      for (const child of (await readdir(path)).sort()) await visit(join(path, child));
    } else if (mapping) {
      out.push(mapping);
    }
  };
  await visit(m.rule.path);
  return out;
}

class Watcher implements Watching {
  private readonly watchers: FSWatcher[] = [];
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private acting: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly rt: ProjectRuntime,
    private readonly rules: readonly RuleMatcher[],
    private readonly options: WatchOptions,
  ) {}

  async start(): Promise<void> {
    for (const m of this.rules) {
      if (!isSync(m.rule.action) || !m.rule.initialSync) continue;
      await this.sync(m.service, await initialFiles(m));
    }
    for (const path of new Set(this.rules.map((m) => m.rule.path))) {
      const st = await stat(path).catch(() => null);
      let w: FSWatcher;
      if (!st) {
        this.options.log(`path '${path}' does not exist, it won't be monitored`);
        continue;
      } else if (st.isDirectory()) {
        w = fsWatch(path, { recursive: true }, (_event, name) => this.changed(name === null ? path : join(path, name.toString())));
      } else {
        // A file is watched through its directory: editors replace files rather than write them.
        const name = basename(path);
        w = fsWatch(dirname(path), (_event, changed) => {
          if (changed?.toString() === name) this.changed(path);
        });
      }
      w.on('error', (e) => this.options.log(`Watch disabled with errors: ${e.message}`));
      this.watchers.push(w);
    }
    this.options.log('Watch enabled');
  }

  private changed(path: string): void {
    if (this.stopped) return;
    this.pending.add(path);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), QUIET_PERIOD_MS);
  }

  private flush(): void {
    const batch = [...this.pending];
    this.pending = new Set();
    this.acting = this.acting.then(() =>
      this.handle(batch).catch((e: unknown) => this.options.log(`Error handling changed files: ${(e as Error).message}`)),
    );
  }

  private async handle(batch: readonly string[]): Promise<void> {
    if (this.stopped) return;
    const rebuild = new Set<string>();
    const restarts = new Set<string>();
    const syncs = new Map<string, PathMapping[]>();
    const execs = new Map<string, Set<RuleMatcher>>();
    for (const path of batch) {
      for (const m of this.rules) {
        const mapping = m.matches(path);
        if (!mapping) continue;
        const name = m.service.name;
        if (m.rule.action === 'rebuild') rebuild.add(name);
        if (isSync(m.rule.action)) syncs.set(name, [...(syncs.get(name) ?? []), mapping]);
        if (m.rule.action === 'restart' || m.rule.action === 'sync+restart') restarts.add(name);
        if (m.rule.action === 'sync+exec') execs.set(name, (execs.get(name) ?? new Set()).add(m));
      }
    }
    if (rebuild.size > 0) await this.rebuild([...rebuild].sort());
    for (const [name, mappings] of syncs) {
      this.options.log(`Syncing service "${name}" after ${mappings.length} changes were detected`);
      await this.sync(this.rules.find((m) => m.service.name === name)!.service, mappings);
    }
    if (restarts.size > 0) {
      const names = [...restarts].sort();
      await restart(this.rt, names);
      this.options.log(`service(s) ${quoted(names)} restarted`);
    }
    for (const [name, matchers] of execs) {
      const containers = await containersOf(this.rt, [name], { oneOff: 'exclude', running: true });
      for (const m of [...matchers].sort((a, b) => a.index - b.index)) {
        await Promise.all(containers.map((c) => runHook(this.rt, c, m.rule.exec!, 'watch exec')));
      }
    }
  }

  private async sync(service: Service, mappings: readonly PathMapping[]): Promise<void> {
    if (mappings.length === 0) return;
    const containers = await containersOf(this.rt, [service.name], { oneOff: 'exclude', running: true });
    await syncInto(this.rt, containers, mappings);
  }

  private async rebuild(names: string[]): Promise<void> {
    const { rt } = this;
    this.options.log(`Rebuilding service(s) ${quoted(names)} after changes were detected...`);
    const services = names.map((n) => rt.deployment.services.find((s) => s.name === n)!);
    const before = await Promise.all(services.map(async (s) => (await rt.engine.inspectImage(s.image))?.id));
    try {
      for (const s of services) await buildServiceImage(rt, s);
    } catch (e) {
      this.options.log(`Build failed. Error: ${(e as Error).message}`);
      throw e;
    }
    this.options.log(`service(s) ${quoted(names)} successfully built`);
    await upServices(rt, names, { noDeps: true, strategy: 'always', build: 'never' });
    if (!this.options.prune) return;
    // The image a rebuild replaced is untagged now and, its containers recreated, unused.
    await Promise.all(
      services.map(async (s, i) => {
        const old = before[i];
        if (old === undefined || old === (await rt.engine.inspectImage(s.image))?.id) return;
        await rt.engine.removeImage(old).catch(() => undefined);
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    await this.acting;
  }
}

/** Starts watching `rules` (watchRules'), after their initial syncs; logs "Watch enabled" once changes are seen. */
export async function watch(rt: ProjectRuntime, rules: readonly RuleMatcher[], options: WatchOptions): Promise<Watching> {
  const watcher = new Watcher(rt, rules, options);
  await watcher.start();
  return watcher;
}

/** The selected services with both a `build` and watch rules: `watch` builds their images before it starts them, as Compose v2 does. */
export function servicesToBuild(rt: ProjectRuntime, names: readonly string[]): Service[] {
  return selectServices(rt.deployment, rt.profiles, names).filter((s) => s.build !== undefined && s.watch.length > 0);
}
