/**
 * Each raw instruction interpreted as BuildKit's parser interprets it: flags (`--from=...`),
 * exec (JSON) or shell form, `name=value` pairs, and the per-instruction argument rules and their
 * error messages. Nothing is expanded here: expansion needs the stage's environment (./stages.ts,
 * ./evaluate.ts).
 */
import { DockerfileError } from './errors.js';
import type { Heredoc, ParsedDockerfile, RawInstruction } from './parse.js';
import { fields, splitWords } from './words.js';

/** A command in exec form (argv) or shell form (text run by the SHELL). */
export type CommandForm = { exec: true; argv: string[] } | { exec: false; text: string };

export interface Located {
  line: number;
  /** The instruction as written (keyword and arguments), for messages and history. */
  text: string;
}

export interface MountFlag {
  type: 'bind' | 'cache' | 'secret' | 'ssh' | 'tmpfs';
  target: string;
  options: Record<string, string>;
}

export type Instruction = Located &
  (
    | { kind: 'FROM'; image: string; stage?: string; platform?: string }
    | { kind: 'RUN'; command: CommandForm; mounts: MountFlag[]; network?: string; heredocs: Heredoc[] }
    | { kind: 'CMD' | 'ENTRYPOINT'; command: CommandForm }
    | { kind: 'COPY' | 'ADD'; sources: string[]; dest: string; from?: string; chown?: string; chmod?: string; heredocs: Heredoc[]; exec: boolean }
    | { kind: 'ENV' | 'LABEL'; pairs: [string, string][] }
    | { kind: 'ARG'; args: { name: string; value?: string }[] }
    | { kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER'; value: string }
    | { kind: 'EXPOSE' | 'VOLUME'; values: string[] }
    | { kind: 'SHELL'; argv: string[] }
    | { kind: 'HEALTHCHECK'; none: true }
    | { kind: 'HEALTHCHECK'; none: false; command: CommandForm; flags: Record<string, string> }
    | { kind: 'ONBUILD'; trigger: string }
  );

export type InstructionOf<K extends Instruction['kind']> = Extract<Instruction, { kind: K }>;

const FLAGS: Record<string, readonly string[]> = {
  FROM: ['platform'],
  RUN: ['mount', 'network', 'security'],
  COPY: ['from', 'chown', 'chmod'],
  ADD: ['chown', 'chmod'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'retries'],
};
const REPEATABLE = new Set(['mount']);

interface Flags {
  values: Map<string, string[]>;
  rest: string;
}

function unquote(v: string): string {
  return /^"[^"]*"$|^'[^']*'$/.test(v) ? v.slice(1, -1) : v;
}

/** Leading `--name[=value]` words (BuildKit's extractBuilderFlags); `--` ends them. */
function takeFlags(keyword: string, args: string, fail: (m: string) => never): Flags {
  const values = new Map<string, string[]>();
  let rest = args;
  const allowed = FLAGS[keyword] ?? [];
  for (;;) {
    const m = /^--([^\s=]*)(?:=("[^"]*"|'[^']*'|\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    rest = rest.slice(m[0].length);
    const name = m[1]!;
    if (name === '') break;
    if (!allowed.includes(name)) fail(`unknown flag: ${name}`);
    const list = values.get(name) ?? [];
    if (list.length > 0 && !REPEATABLE.has(name)) fail(`duplicate flag specified: ${name}`);
    list.push(m[2] === undefined ? '' : unquote(m[2]));
    values.set(name, list);
  }
  return { values, rest };
}

/** JSON array of strings, or null when the text is not one (then it is the shell form). */
function jsonArray(text: string): string[] | null {
  if (!text.startsWith('[')) return null;
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: the shell form
  }
  return null;
}

function command(text: string): CommandForm {
  const argv = jsonArray(text);
  return argv ? { exec: true, argv } : { exec: false, text };
}

function nameValues(keyword: string, rest: string, escape: string, fail: (m: string) => never): [string, string][] {
  const words = splitWords(rest, escape);
  if (words.length === 0) fail(`${keyword} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // The old form: KEY value with spaces
    const m = /^(\S+)\s+([\s\S]+)$/.exec(rest);
    if (!m) fail(`${keyword} must have two arguments`);
    return [[m[1]!, m[2]!]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) fail(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function mountFlag(value: string, fail: (m: string) => never): MountFlag {
  const options: Record<string, string> = {};
  for (const part of value.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    options[key] = eq < 0 ? 'true' : part.slice(eq + 1);
  }
  const type = options['type'] ?? 'bind';
  if (type !== 'bind' && type !== 'cache' && type !== 'secret' && type !== 'ssh' && type !== 'tmpfs') fail(`unsupported mount type "${type}"`);
  const target = options['target'] ?? options['dst'] ?? options['destination'] ?? '';
  if (target === '' && type !== 'secret' && type !== 'ssh') fail(`mount type=${type} requires a target`);
  return { type, target, options };
}

function one(flags: Flags, name: string): string | undefined {
  return flags.values.get(name)?.[0];
}

/** One instruction; `trigger` is set when it is the body of an ONBUILD. */
export function interpret(raw: RawInstruction, file: string, escape: string): Instruction {
  const keyword = raw.keyword;
  const fail = (m: string): never => {
    throw new DockerfileError(m, file, raw.line, keyword);
  };
  const located = { line: raw.line, text: `${keyword} ${raw.args}`.trim() };
  const flags = takeFlags(keyword, raw.args, fail);
  const rest = flags.rest.trim();
  const needArgs = () => {
    if (rest === '') fail(`${keyword} requires at least one argument`);
  };
  switch (keyword) {
    case 'FROM': {
      const words = fields(rest);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) fail('FROM requires either one or three arguments');
      const stage = words.length === 3 ? words[2]!.toLowerCase() : undefined;
      if (stage !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(stage)) fail(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
      const platform = one(flags, 'platform');
      return { ...located, kind: 'FROM', image: words[0]!, ...(stage !== undefined ? { stage } : {}), ...(platform !== undefined ? { platform } : {}) };
    }
    case 'RUN': {
      if (rest === '' && raw.heredocs.length === 0) fail('RUN requires at least one argument');
      const mounts = (flags.values.get('mount') ?? []).map((v) => mountFlag(v, fail));
      const network = one(flags, 'network');
      if (network !== undefined && !['default', 'none', 'host'].includes(network)) fail(`unsupported network mode "${network}"`);
      return { ...located, kind: 'RUN', command: command(rest), mounts, heredocs: raw.heredocs, ...(network !== undefined ? { network } : {}) };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      return { ...located, kind: keyword, command: command(rest) };
    case 'COPY':
    case 'ADD': {
      const argv = jsonArray(rest);
      const words = argv ?? fields(rest);
      const count = words.length;
      if (count < 2) fail(`${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
      const from = one(flags, 'from');
      const chown = one(flags, 'chown');
      const chmod = one(flags, 'chmod');
      if (chmod !== undefined && !/^[0-7]{1,4}$/.test(chmod)) fail(`invalid chmod parameter: "${chmod}"`);
      const sources = words.slice(0, -1);
      return {
        ...located,
        kind: keyword,
        sources,
        dest: words[words.length - 1]!,
        heredocs: raw.heredocs,
        exec: argv !== null,
        ...(from !== undefined ? { from } : {}),
        ...(chown !== undefined ? { chown } : {}),
        ...(chmod !== undefined ? { chmod } : {}),
      };
    }
    case 'ENV':
    case 'LABEL':
      return { ...located, kind: keyword, pairs: nameValues(keyword, rest, escape, fail) };
    case 'ARG': {
      const words = splitWords(rest, escape);
      if (words.length === 0) fail('ARG requires at least one argument');
      return {
        ...located,
        kind: 'ARG',
        args: words.map((w) => {
          const eq = w.indexOf('=');
          return eq < 0 ? { name: w } : { name: w.slice(0, eq), value: w.slice(eq + 1) };
        }),
      };
    }
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      needArgs();
      if (keyword !== 'MAINTAINER' && fields(rest).length !== 1 && keyword !== 'WORKDIR') fail(`${keyword} requires exactly one argument`);
      return { ...located, kind: keyword, value: rest };
    case 'EXPOSE':
    case 'VOLUME': {
      needArgs();
      const values = jsonArray(rest) ?? fields(rest);
      if (keyword === 'VOLUME' && values.some((v) => v.trim() === '')) fail('VOLUME specified can not be an empty string');
      return { ...located, kind: keyword, values };
    }
    case 'SHELL': {
      const argv = jsonArray(rest);
      if (!argv) fail('SHELL requires the arguments to be in JSON form');
      if (argv!.length === 0) fail('SHELL requires at least one argument');
      return { ...located, kind: 'SHELL', argv: argv! };
    }
    case 'HEALTHCHECK': {
      const [first = '', ...others] = fields(rest);
      const type = first.toUpperCase();
      if (type === 'NONE') {
        if (others.length > 0 || flags.values.size > 0) fail('HEALTHCHECK NONE takes no arguments');
        return { ...located, kind: 'HEALTHCHECK', none: true };
      }
      if (type !== 'CMD') fail(`Unknown type "${first}" in HEALTHCHECK (try CMD)`);
      const cmdText = rest.slice(first.length).trim();
      if (cmdText === '') fail('Missing command after HEALTHCHECK CMD');
      const values: Record<string, string> = {};
      for (const [k, v] of flags.values) values[k] = v[0]!;
      return { ...located, kind: 'HEALTHCHECK', none: false, command: command(cmdText), flags: values };
    }
    case 'ONBUILD': {
      needArgs();
      const sub = (fields(rest)[0] ?? '').toUpperCase();
      if (sub === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (sub === 'FROM' || sub === 'MAINTAINER') fail(`${sub} isn't allowed as an ONBUILD trigger`);
      return { ...located, kind: 'ONBUILD', trigger: rest };
    }
    default:
      return fail(`unknown instruction: ${keyword}`);
  }
}

export function interpretAll(doc: ParsedDockerfile): Instruction[] {
  return doc.instructions.map((raw) => interpret(raw, doc.file, doc.escape));
}
