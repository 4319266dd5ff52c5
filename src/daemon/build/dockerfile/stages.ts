/**
 * Stages as BuildKit resolves them: ARGs before the first FROM are global (usable in FROM lines
 * only, unless a stage declares them again), each FROM starts a stage, `AS name` names it, a
 * stage's base or a `--from` names an earlier stage by name or index, and only the stages the
 * target needs are built (the others are skipped, even when they would fail).
 */
import { DockerfileError } from './errors.js';
import type { Instruction, InstructionOf } from './instructions.js';
import { ExpansionError, processWord } from './lex.js';

export interface Stage {
  index: number;
  name?: string;
  from: InstructionOf<'FROM'>;
  instructions: Instruction[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface StageSet {
  globalArgs: InstructionOf<'ARG'>[];
  stages: Stage[];
}

export function splitStages(instructions: Instruction[], file: string): StageSet {
  if (instructions.length === 0) throw new DockerfileError('file with no instructions', file);
  const globalArgs: InstructionOf<'ARG'>[] = [];
  const stages: Stage[] = [];
  const names = new Set<string>();
  for (const ins of instructions) {
    if (ins.kind === 'FROM') {
      if (ins.stage !== undefined) {
        if (names.has(ins.stage)) throw new DockerfileError(`duplicate name ${ins.stage}`, file, ins.line, 'FROM');
        names.add(ins.stage);
      }
      stages.push({ index: stages.length, ...(ins.stage !== undefined ? { name: ins.stage } : {}), from: ins, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.kind !== 'ARG') throw new DockerfileError('no build stage in current context', file, ins.line, ins.kind);
      globalArgs.push(ins);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw new DockerfileError('no build stage in current context', file);
  return { globalArgs, stages };
}

/** The automatic platform arguments (BUILDPLATFORM, TARGETARCH, ...). */
export function platformArgs(build: Platform, target: Platform): Map<string, string> {
  const m = new Map<string, string>();
  for (const [prefix, p] of [['BUILD', build], ['TARGET', target]] as const) {
    m.set(`${prefix}PLATFORM`, [p.os, p.architecture, p.variant].filter((x) => x).join('/'));
    m.set(`${prefix}OS`, p.os);
    m.set(`${prefix}ARCH`, p.architecture);
    m.set(`${prefix}VARIANT`, p.variant ?? '');
  }
  return m;
}

/** The global ARGs' values, each default expanded with the ones before it; build args win. */
export function globalArgValues(set: StageSet, buildArgs: Record<string, string>, automatic: Map<string, string>, file: string): Map<string, string | undefined> {
  const values = new Map<string, string | undefined>(automatic);
  for (const ins of set.globalArgs) {
    for (const arg of ins.args) {
      let value: string | undefined;
      if (Object.hasOwn(buildArgs, arg.name)) value = buildArgs[arg.name];
      else if (arg.value !== undefined) value = expand(arg.value, (n) => values.get(n), file, ins);
      values.set(arg.name, value);
    }
  }
  return values;
}

export function expand(word: string, lookup: (name: string) => string | undefined, file: string, ins: Instruction, escape = '\\'): string {
  try {
    return processWord(word, lookup, escape);
  } catch (e) {
    if (e instanceof ExpansionError) throw new DockerfileError(`failed to process ${JSON.stringify(word)}: ${e.message}`, file, ins.line, ins.kind);
    throw e;
  }
}

/** `dir`: a named build context's directory (Compose `additional_contexts`). */
export type StageRef = { stage: number } | { image: string } | { dir: string };

/**
 * Named build contexts (`--build-context`, Compose `additional_contexts`): name → an absolute
 * directory, or `docker-image://REF` for an image.
 */
export type NamedContexts = Readonly<Record<string, string>>;

/** A name that is not a stage: a named context when one is given that name, else an image. */
function namedOrImage(name: string, contexts: NamedContexts): StageRef {
  const value = Object.hasOwn(contexts, name) ? contexts[name] : undefined;
  if (value === undefined) return { image: name };
  return value.startsWith('docker-image://') ? { image: value.slice('docker-image://'.length) } : { dir: value };
}

/** What `FROM x` names: an earlier stage (by name), else a named context, else an image. */
export function resolveBase(set: StageSet, name: string, before: number, contexts: NamedContexts = {}): StageRef {
  const named = set.stages.findIndex((s) => s.name === name.toLowerCase());
  return named >= 0 && named < before ? { stage: named } : namedOrImage(name, contexts);
}

/**
 * What `--from=x` names: any stage by name, or by index (BuildKit 0.8 takes later stages too;
 * a stage naming itself is a cycle, found by the caller), else a named context, else an image.
 */
export function resolveCopyFrom(set: StageSet, name: string, contexts: NamedContexts = {}): StageRef {
  const named = set.stages.findIndex((s) => s.name === name.toLowerCase());
  if (named >= 0) return { stage: named };
  if (/^\d+$/.test(name) && Number(name) < set.stages.length) return { stage: Number(name) };
  return namedOrImage(name, contexts);
}

/** The index of the stage to build: `target` by name, else the last. */
export function targetIndex(set: StageSet, target: string | undefined, file: string): number {
  if (target === undefined || target === '') return set.stages.length - 1;
  const at = set.stages.findIndex((s) => s.name === target.toLowerCase());
  if (at < 0) throw new DockerfileError(`target stage ${target} could not be found`, file);
  return at;
}
