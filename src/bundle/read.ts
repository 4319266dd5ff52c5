/**
 * Reading a .dab file: JSON, keys matched case-insensitively (Docker's Go loader did, so
 * `{"version": ..., "services": ...}` loads), unknown keys ignored with a warning (Docker ignored
 * them silently), then validated against schemas/dab-v0.1.json. Every error names the file, line
 * and key.
 */
import { setOwn } from '../util/own.js';
import { ConfigError, ErrorList, formatKeyPath } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import { readTextFile } from '../util/input-files.js';
import { validateAgainst } from '../compose/validate/schema.js';
import { readYaml, type KeyPath } from '../compose/yaml/read.js';
import { BUNDLE_VERSION, type Bundle } from './types.js';

const TOP_KEYS = ['Version', 'Services'];
const SERVICE_KEYS = ['Image', 'Command', 'Args', 'Env', 'Labels', 'Ports', 'WorkingDir', 'User', 'Networks'];
const PORT_KEYS = ['Protocol', 'Port'];

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Line and column of a character offset. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg) ?? /at (\d+)/.exec(msg);
    const offset = m ? Number(m[1]) : undefined;
    const detail = msg.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, '');
    const where = offset === undefined ? {} : position(text, offset);
    throw new ConfigError(`JSON syntax error${offset === undefined ? '' : ` at byte ${offset}`}: ${detail}`, { file, ...where });
  }
}

/** Renames keys to their canonical spelling; reports (and drops) keys the format does not have. */
function canonicalKeys(obj: Dict, known: string[], path: KeyPath, warn: (key: string, path: KeyPath) => void): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(obj)) {
    const canonical = known.find((c) => c.toLowerCase() === k.toLowerCase());
    if (canonical === undefined) warn(k, [...path, k]);
    else setOwn(out, canonical, v);
  }
  return out;
}

export function readBundle(path: string, diagnostics: Diagnostics): Bundle {
  const text = readTextFile(path, 'bundle');
  const raw = parseJson(text, path);
  let located: ReturnType<typeof readYaml> | undefined;
  const locate = (p: KeyPath) => {
    try {
      located ??= readYaml(text, path);
      return located.locate(p);
    } catch {
      return undefined;
    }
  };
  const at = (p: KeyPath) => ({ file: path, ...locate(p), path: formatKeyPath(p) || undefined });
  const warnUnknown = (key: string, p: KeyPath) => diagnostics.warn(`unknown key '${key}' is ignored`, at(p));

  if (!isDict(raw)) throw new ConfigError('a bundle is a JSON object with "Version" and "Services"', { file: path, line: 1, column: 1 });
  const top = canonicalKeys(raw, TOP_KEYS, [], warnUnknown);
  const rawServices = top['Services'];
  if (isDict(rawServices)) {
    const services: Dict = {};
    for (const [name, svc] of Object.entries(rawServices)) {
      if (!isDict(svc)) {
        setOwn(services, name, svc);
        continue;
      }
      const s = canonicalKeys(svc, SERVICE_KEYS, ['Services', name], warnUnknown);
      if (Array.isArray(s['Ports'])) {
        s['Ports'] = s['Ports'].map((p, i) => (isDict(p) ? canonicalKeys(p, PORT_KEYS, ['Services', name, 'Ports', i], warnUnknown) : p));
      }
      setOwn(services, name, s);
    }
    top['Services'] = services;
  }

  const problems = validateAgainst('dab-v0.1', top);
  if (problems.length > 0) {
    const errors = problems.map((p) => new ConfigError(p.message, at(p.path)));
    throw errors.length === 1 ? errors[0] : new ErrorList(errors);
  }
  const bundle = top as unknown as Bundle;
  if (bundle.Version !== BUNDLE_VERSION) {
    diagnostics.warn(`bundle version "${bundle.Version}" is not ${BUNDLE_VERSION}; reading it as ${BUNDLE_VERSION}`, at(['Version']));
  }
  for (const [name, s] of Object.entries(bundle.Services)) {
    if (!/@sha256:[a-f0-9]{64}$/.test(s.Image)) {
      diagnostics.warn(`image "${s.Image}" is not pinned by digest (repo@sha256:...)`, at(['Services', name, 'Image']));
    }
  }
  return bundle;
}
