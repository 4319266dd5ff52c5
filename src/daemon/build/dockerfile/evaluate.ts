/**
 * What a Dockerfile asks for, stage by stage, as dockerd 20.10's BuildKit (frontend
 * dockerfile.v0) works it out: the image config each instruction leaves, and the filesystem
 * steps (RUN, COPY/ADD, WORKDIR's directory) an executor carries out, with every argument
 * expanded. Only the stages the target needs are evaluated. Nothing here touches a file system.
 *
 * Environments, as BuildKit keeps them: a stage's build environment starts as its base image's
 * Env; ENV and ARG (with a value) set variables in it in the order they appear (so an ARG after
 * an ENV of the same name wins there); the image config's Env gets only the ENVs. Expansion
 * and RUN both see the build environment.
 */
import { DockerfileError } from './errors.js';
import { DEFAULT_PATH, copyConfig, envMap, setEnv, type ContainerConfig, type HealthConfig } from './image-config.js';
import { interpret, interpretAll, type CommandForm, type Instruction, type InstructionOf, type MountFlag } from './instructions.js';
import type { Heredoc, ParsedDockerfile } from './parse.js';
import { expand, globalArgValues, platformArgs, resolveBase, resolveCopyFrom, splitStages, targetIndex, type NamedContexts, type Platform, type StageRef, type StageSet } from './stages.js';
import { fields } from './words.js';

/** Proxy variables a build arg may set for RUN without an ARG declaring them. */
export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

export type CopySource = { context: true } | StageRef;

/**
 * The root a COPY --from or a bind mount's `from` reads, as the builder names it: undefined for
 * the build context, a stage's index, `dir:<path>` for a named directory context, else an image.
 */
export function sourceName(from: CopySource): string | undefined {
  if ('context' in from) return undefined;
  if ('stage' in from) return String(from.stage);
  if ('dir' in from) return `dir:${from.dir}`;
  return from.image;
}

export type Step =
  | {
      kind: 'run';
      line: number;
      text: string;
      argv: string[];
      env: string[];
      user: string;
      workdir: string;
      mounts: MountFlag[];
      network: string;
      heredocs: Heredoc[];
      /** `RUN <<EOF` whose body starts with `#!`: the body, an executable file at /dev/pipes/<name> that argv runs. */
      script?: { name: string; content: string };
    }
  | {
      kind: 'copy';
      line: number;
      text: string;
      add: boolean;
      from: CopySource;
      /** As written after expansion; `<<NAME` names a heredoc. */
      sources: string[];
      /** Absolute; ends with "/" when it names a directory. */
      dest: string;
      chown?: string;
      chmod?: number;
      heredocs: Heredoc[];
    }
  | { kind: 'mkdir'; line: number; text: string; path: string; user: string };

export interface StageBase {
  /** The base as the Dockerfile names it after expansion ("scratch" included). */
  name: string;
  ref: StageRef | { scratch: true };
}

export interface EvaluatedStage {
  index: number;
  name?: string;
  base: StageBase;
  steps: Step[];
  config: ContainerConfig;
  /** Instructions as history would record them (empty layers included). */
  history: { text: string; emptyLayer: boolean }[];
  /** Build args this stage declared (for the unused-argument warning). */
  declared: Set<string>;
}

export interface BaseImage {
  config: ContainerConfig;
  architecture?: string;
  os?: string;
}

export interface EvaluateOptions {
  buildArgs: Record<string, string>;
  target?: string;
  platform: Platform;
  /** The config of an image a stage starts from (pulled or found locally by the caller). */
  baseImage: (ref: string, line: number) => Promise<BaseImage>;
  /** Named build contexts for FROM and --from (./stages.ts NamedContexts). */
  contexts?: NamedContexts;
}

export interface Evaluation {
  file: string;
  stages: Map<number, EvaluatedStage>;
  target: number;
  /** Build args nothing consumed, sorted (BuildKit warns about them). */
  unusedArgs: string[];
}

class StageEvaluator {
  private readonly config: ContainerConfig;
  /** The build environment: base Env, then ENV and ARG in order. */
  private env: Map<string, string>;
  private readonly steps: Step[] = [];
  private readonly history: { text: string; emptyLayer: boolean }[] = [];
  private readonly declared = new Set<string>();
  private cmdSet = false;

  constructor(
    private readonly doc: ParsedDockerfile,
    private readonly set: StageSet,
    private readonly index: number,
    base: ContainerConfig,
    private readonly globals: Map<string, string | undefined>,
    private readonly options: EvaluateOptions,
    private readonly needStage: (index: number, line: number) => Promise<void>,
  ) {
    this.config = copyConfig(base);
    this.env = envMap(this.config.Env ?? []);
  }

  private fail(ins: Instruction, message: string): never {
    throw new DockerfileError(message, this.doc.file, ins.line, ins.kind);
  }

  private x(word: string, ins: Instruction): string {
    return expand(word, (n) => this.env.get(n), this.doc.file, ins, this.doc.escape);
  }

  private shellForm(c: CommandForm): string[] {
    return c.exec ? c.argv : [...(this.config.Shell ?? ['/bin/sh', '-c']), c.text];
  }

  async run(instructions: Instruction[]): Promise<void> {
    for (const ins of instructions) await this.apply(ins);
  }

  private note(text: string, emptyLayer: boolean): void {
    this.history.push({ text, emptyLayer });
  }

  private async apply(ins: Instruction): Promise<void> {
    const c = this.config;
    switch (ins.kind) {
      case 'FROM':
        return this.fail(ins, 'FROM inside a stage');
      case 'ENV':
        for (const [k, v] of ins.pairs) {
          const key = this.x(k, ins);
          const value = this.x(v, ins);
          if (key === '') this.fail(ins, 'ENV names must not be empty');
          c.Env = setEnv(c.Env ?? [], key, value);
          this.env.set(key, value);
        }
        return this.note(ins.text, true);
      case 'ARG':
        for (const arg of ins.args) {
          this.declared.add(arg.name);
          let value: string | undefined;
          if (Object.hasOwn(this.options.buildArgs, arg.name)) value = this.options.buildArgs[arg.name];
          else if (arg.value !== undefined) value = this.x(arg.value, ins);
          else if (this.globals.has(arg.name)) value = this.globals.get(arg.name);
          if (value !== undefined) this.env.set(arg.name, value);
        }
        return this.note(ins.text, true);
      case 'LABEL': {
        const labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of ins.pairs) labels[this.x(k, ins)] = this.x(v, ins);
        c.Labels = labels;
        return this.note(ins.text, true);
      }
      case 'WORKDIR': {
        const value = this.x(ins.value, ins);
        const wd = joinPath(value.startsWith('/') ? '/' : c.WorkingDir || '/', value);
        c.WorkingDir = wd;
        if (wd !== '/') this.steps.push({ kind: 'mkdir', line: ins.line, text: `WORKDIR ${wd}`, path: wd, user: c.User ?? '' });
        return this.note(`WORKDIR ${wd}`, wd === '/');
      }
      case 'USER':
        c.User = this.x(ins.value, ins);
        return this.note(ins.text, true);
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const raw of ins.values) for (const p of exposedPorts(this.x(raw, ins), (m) => this.fail(ins, m))) ports[p] = {};
        c.ExposedPorts = ports;
        return this.note(ins.text, true);
      }
      case 'VOLUME': {
        const vols = { ...(c.Volumes ?? {}) };
        for (const raw of ins.values) {
          const v = this.x(raw, ins).trim();
          if (v === '') this.fail(ins, 'VOLUME specified can not be an empty string');
          vols[v] = {};
        }
        c.Volumes = vols;
        return this.note(ins.text, true);
      }
      case 'STOPSIGNAL': {
        const sig = this.x(ins.value, ins);
        if (!/^(SIG)?[A-Z][A-Z0-9+-]*$|^\d+$/i.test(sig)) this.fail(ins, `Invalid signal: ${sig}`);
        c.StopSignal = sig;
        return this.note(ins.text, true);
      }
      case 'MAINTAINER':
        return this.note(ins.text, true);
      case 'CMD':
        c.Cmd = this.shellForm(ins.command);
        this.cmdSet = true;
        return this.note(ins.text, true);
      case 'ENTRYPOINT':
        c.Entrypoint = this.shellForm(ins.command);
        if (!this.cmdSet) c.Cmd = null;
        return this.note(ins.text, true);
      case 'SHELL':
        c.Shell = ins.argv;
        return this.note(ins.text, true);
      case 'HEALTHCHECK':
        c.Healthcheck = ins.none ? { Test: ['NONE'] } : healthcheck(ins, (m) => this.fail(ins, m));
        return this.note(ins.text, true);
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), ins.trigger];
        return this.note(ins.text, true);
      case 'RUN':
        return this.runStep(ins);
      case 'COPY':
      case 'ADD':
        return this.copyStep(ins);
    }
  }

  private async runStep(ins: InstructionOf<'RUN'>): Promise<void> {
    let argv: string[];
    let script: { name: string; content: string } | undefined;
    const only = ins.heredocs.length === 1 && !ins.command.exec && /^<<-?["']?[^\s"']+["']?$/.test(ins.command.text) ? ins.heredocs[0]! : undefined;
    if (only?.content.startsWith('#!')) {
      // BuildKit's dockerfile frontend: a lone heredoc with a shebang becomes an executable file
      // (0755, the body as written, never expanded) in a read-only /dev/pipes/, which the shell
      // runs, so the kernel starts the interpreter the shebang names.
      script = { name: only.name, content: only.content };
      argv = [...(this.config.Shell ?? ['/bin/sh', '-c']), `/dev/pipes/${only.name}`];
    } else if (only) {
      // `RUN <<EOF`: the body is the script
      argv = [...(this.config.Shell ?? ['/bin/sh', '-c']), only.content];
    } else if (ins.heredocs.length > 0 && !ins.command.exec) {
      const bodies = ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('');
      argv = [...(this.config.Shell ?? ['/bin/sh', '-c']), `${ins.command.text}\n${bodies}`];
    } else {
      argv = this.shellForm(ins.command);
    }
    const env = [...this.env].map(([k, v]) => `${k}=${v}`);
    if (!this.env.has('PATH')) env.unshift(`PATH=${DEFAULT_PATH}`);
    for (const name of PROXY_ARGS) if (Object.hasOwn(this.options.buildArgs, name) && !this.env.has(name)) env.push(`${name}=${this.options.buildArgs[name]}`);
    const mounts: MountFlag[] = [];
    for (const m of ins.mounts) {
      const options = { ...m.options };
      if (m.type === 'bind' && options['from'] !== undefined) {
        // `from` names a stage (by name or index) or an image; a stage becomes its index.
        const ref = resolveCopyFrom(this.set, options['from'], this.options.contexts);
        if ('stage' in ref) {
          await this.needStage(ref.stage, ins.line);
          options['from'] = String(ref.stage);
        } else options['from'] = 'dir' in ref ? `dir:${ref.dir}` : ref.image;
      }
      const target = m.target === '' ? '' : this.x(m.target, ins);
      mounts.push({ ...m, options, target: target === '' ? '' : joinPath(target.startsWith('/') ? '/' : this.config.WorkingDir || '/', target) });
    }
    this.steps.push({
      kind: 'run',
      line: ins.line,
      text: ins.text,
      argv,
      env,
      user: this.config.User ?? '',
      workdir: this.config.WorkingDir || '/',
      mounts,
      network: ins.network ?? 'default',
      heredocs: ins.heredocs,
      ...(script ? { script } : {}),
    });
    this.note(ins.text, false);
  }

  private async copyStep(ins: InstructionOf<'COPY' | 'ADD'>): Promise<void> {
    const sources = ins.sources.map((s) => (/^<<-?["']?[^\s"']+["']?$/.test(s) && ins.heredocs.length > 0 ? s : this.x(s, ins)));
    const destRaw = this.x(ins.dest, ins);
    let dest = joinPath(destRaw.startsWith('/') ? '/' : this.config.WorkingDir || '/', destRaw);
    if (destRaw === '.' || destRaw === '' || destRaw.endsWith('/')) dest = dest === '/' ? '/' : `${dest}/`;
    let from: CopySource = { context: true };
    if (ins.kind === 'COPY' && ins.from !== undefined) {
      const name = ins.from;
      const ref = resolveCopyFrom(this.set, name, this.options.contexts);
      if ('stage' in ref) await this.needStage(ref.stage, ins.line);
      from = ref;
    }
    const chown = ins.chown === undefined ? undefined : this.x(ins.chown, ins);
    const heredocs = ins.heredocs.map((h) => (h.expand ? { ...h, content: this.x(h.content, ins) } : h));
    this.steps.push({
      kind: 'copy',
      line: ins.line,
      text: ins.text,
      add: ins.kind === 'ADD',
      from,
      sources,
      dest,
      heredocs,
      ...(chown !== undefined && chown !== '' ? { chown } : {}),
      ...(ins.chmod !== undefined ? { chmod: parseInt(ins.chmod, 8) } : {}),
    });
    this.note(ins.text, false);
  }

  /** ONBUILD triggers of the base image, run right after FROM, then dropped from the config. */
  async triggers(): Promise<void> {
    const triggers = this.config.OnBuild ?? [];
    this.config.OnBuild = null;
    for (const trigger of triggers) {
      const keyword = (fields(trigger)[0] ?? '').toUpperCase();
      const args = trigger.trim().slice(keyword.length).trim();
      const ins = interpret({ keyword, line: this.set.stages[this.index]!.from.line, endLine: 0, args, heredocs: [] }, this.doc.file, this.doc.escape);
      await this.apply(ins);
    }
  }

  result(base: StageBase): EvaluatedStage {
    const stage = this.set.stages[this.index]!;
    return { index: this.index, ...(stage.name !== undefined ? { name: stage.name } : {}), base, steps: this.steps, config: this.config, history: this.history, declared: this.declared };
  }
}

/** path.Join: "/"-separated, cleaned. */
export function joinPath(a: string, b: string): string {
  const parts: string[] = [];
  for (const p of `${a}/${b}`.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

/** EXPOSE's forms: 80, 80/udp, 8000-8002/tcp; ports as Docker keys them ("80/tcp"). */
function exposedPorts(spec: string, fail: (m: string) => never): string[] {
  const m = /^(?:(?:\d+\.){3}\d+:)?(?::?)(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) return fail(`Invalid containerPort: ${spec}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return fail(`Invalid containerPort: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** Go's time.ParseDuration, in nanoseconds; a string is Go's error message. */
export function goDuration(text: string): number | string {
  if (text === '0') return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)?/y;
  let total = 0;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    if (m[2] === undefined) return `time: missing unit in duration ${JSON.stringify(text)}`;
    total += Number(m[1]) * unit[m[2]]!;
  }
  return re.lastIndex === text.length && text !== '' ? Math.round(total) : `time: invalid duration ${JSON.stringify(text)}`;
}

function healthcheck(ins: InstructionOf<'HEALTHCHECK'> & { none: false }, fail: (m: string) => never): HealthConfig {
  const h: HealthConfig = { Test: ins.command.exec ? ['CMD', ...ins.command.argv] : ['CMD-SHELL', ins.command.text] };
  const durations: [string, 'Interval' | 'Timeout' | 'StartPeriod'][] = [
    ['interval', 'Interval'],
    ['timeout', 'Timeout'],
    ['start-period', 'StartPeriod'],
  ];
  for (const [flag, key] of durations) {
    const raw = ins.flags[flag];
    if (raw === undefined || raw === '') continue;
    const ns = goDuration(raw);
    if (typeof ns === 'string') return fail(ns);
    if (ns !== 0 && ns < 1e6) fail(`${key} "${raw}" cannot be less than 1ms`);
    if (ns !== 0) h[key] = ns;
  }
  const retries = ins.flags['retries'];
  if (retries !== undefined && retries !== '') {
    if (!/^-?\d+$/.test(retries)) fail(`strconv.ParseInt: parsing "${retries}": invalid syntax`);
    const n = Number(retries);
    if (n < 1) fail('--retries must be at least 1');
    h.Retries = n;
  }
  return h;
}

/** Evaluates the stages the target needs, in dependency order. */
/**
 * FROM --platform: only the engine's own platform (os/arch[/variant], as BUILDPLATFORM spells it)
 * is built here; another would need emulation, which the embedded engine does not have.
 */
function checkPlatform(wanted: string, own: Platform, file: string, line: number): void {
  const [os, arch, variant] = wanted.toLowerCase().split('/');
  const ownVariant = own.variant ?? '';
  if (os === own.os && arch === own.architecture && (variant === undefined || variant === ownVariant)) return;
  const ownName = [own.os, own.architecture, ...(own.variant ? [own.variant] : [])].join('/');
  throw new DockerfileError(`platform ${wanted} is not supported: the embedded engine builds for ${ownName} only`, file, line, 'FROM');
}

export async function evaluateDockerfile(doc: ParsedDockerfile, options: EvaluateOptions): Promise<Evaluation> {
  const set = splitStages(interpretAll(doc), doc.file);
  const target = targetIndex(set, options.target, doc.file);
  const automatic = platformArgs(options.platform, options.platform);
  const globals = globalArgValues(set, options.buildArgs, automatic, doc.file);
  const done = new Map<number, EvaluatedStage>();
  const pending = new Map<number, Promise<void>>();

  const running = new Set<number>();
  const evaluate = (index: number): Promise<void> => {
    if (running.has(index)) {
      const s = set.stages[index]!;
      throw new DockerfileError(`circular dependency detected on stage: ${s.name ?? index}`, doc.file, s.from.line, 'FROM');
    }
    let p = pending.get(index);
    if (!p) {
      p = evaluateOne(index);
      pending.set(index, p);
    }
    return p;
  };

  const evaluateOne = async (index: number): Promise<void> => {
    running.add(index);
    const stage = set.stages[index]!;
    const from = stage.from;
    const name = expand(from.image, (n) => globals.get(n), doc.file, from, doc.escape);
    if (name === '') throw new DockerfileError(`base name (${from.image}) should not be blank`, doc.file, from.line, 'FROM');
    if (from.platform !== undefined) checkPlatform(expand(from.platform, (n) => globals.get(n), doc.file, from, doc.escape), options.platform, doc.file, from.line);
    let base: StageBase;
    let baseConfig: ContainerConfig;
    if (name.toLowerCase() === 'scratch') {
      base = { name, ref: { scratch: true } };
      baseConfig = { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' };
    } else {
      const ref = resolveBase(set, name, index, options.contexts);
      if ('dir' in ref) throw new DockerfileError(`${name} is a local build context: the embedded builder cannot start a stage FROM a directory (COPY --from=${name} can read it)`, doc.file, from.line, 'FROM');
      if ('stage' in ref) {
        await evaluate(ref.stage);
        base = { name, ref };
        baseConfig = done.get(ref.stage)!.config;
      } else {
        base = { name, ref };
        baseConfig = (await options.baseImage(ref.image, from.line)).config;
        if (!(baseConfig.Env ?? []).some((e) => e.startsWith('PATH='))) baseConfig = { ...baseConfig, Env: [`PATH=${DEFAULT_PATH}`, ...(baseConfig.Env ?? [])] };
      }
    }
    const ev = new StageEvaluator(doc, set, index, baseConfig, globals, options, async (dep) => evaluate(dep));
    await ev.triggers();
    await ev.run(stage.instructions);
    done.set(index, ev.result(base));
    running.delete(index);
  };

  await evaluate(target);
  const consumed = new Set<string>([...set.globalArgs.flatMap((a) => a.args.map((x) => x.name)), ...PROXY_ARGS]);
  for (const s of done.values()) for (const d of s.declared) consumed.add(d);
  const unusedArgs = Object.keys(options.buildArgs).filter((k) => !consumed.has(k)).sort();
  return { file: doc.file, stages: done, target, unusedArgs };
}
