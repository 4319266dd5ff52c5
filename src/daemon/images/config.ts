/**
 * Image config JSON (OCI image config / Docker's image JSON): reading the fields the engine
 * honours, and writing the config `docker import` would make for a bare root filesystem.
 */
import { EngineError } from '../../contract/errors.js';
import type { ImageConfigJson } from '../../contract/image-config.js';

export interface ParsedConfig {
  architecture: string;
  os: string;
  created: string;
  config: ImageConfigJson;
  /** rootfs.diff_ids: the sha256 of each uncompressed layer, bottom first; null when absent. */
  diffIds: string[] | null;
}

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const EPOCH = '1970-01-01T00:00:00Z';

/** Node's process.arch in Go's (and so the image spec's) names. */
export function goArch(arch: string = process.arch): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips: 'mips', mipsel: 'mipsle', loong64: 'loong64' };
  return names[arch] ?? arch;
}

type Check = (v: unknown) => boolean;
const isString: Check = (v) => typeof v === 'string';
const isStrings: Check = (v) => Array.isArray(v) && v.every(isString);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isObjectMap: Check = (v) => isObject(v) && Object.values(v).every(isObject);
const isStringMap: Check = (v) => isObject(v) && Object.values(v).every(isString);
const isHealthcheck: Check = (v) =>
  isObject(v) &&
  (v['Test'] === undefined || isStrings(v['Test'])) &&
  ['Interval', 'Timeout', 'StartPeriod', 'Retries'].every((k) => v[k] === undefined || typeof v[k] === 'number');

/** Each honoured field and its shape; null stands for "not set" where Docker writes null. */
const FIELDS: [keyof ImageConfigJson, Check, boolean][] = [
  ['Env', isStrings, false],
  ['Cmd', isStrings, true],
  ['Entrypoint', isStrings, true],
  ['WorkingDir', isString, false],
  ['User', isString, false],
  ['ExposedPorts', isObjectMap, false],
  ['Volumes', isObjectMap, false],
  ['StopSignal', isString, false],
  ['Labels', isStringMap, true],
  ['Healthcheck', isHealthcheck, false],
];

export function pickImageConfig(raw: unknown, label: string): ImageConfigJson {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new EngineError('invalid', `${label}: the image config's "config" is not an object`);
  const out: Record<string, unknown> = {};
  for (const [key, check, keepNull] of FIELDS) {
    const v = raw[key];
    if (v === undefined) continue;
    if (v === null) {
      if (keepNull) out[key] = null;
      continue;
    }
    if (!check(v)) throw new EngineError('invalid', `${label}: the image config's ${key} has the wrong type`);
    out[key] = v;
  }
  return out as ImageConfigJson;
}

export function parseImageConfig(bytes: Buffer, label: string): ParsedConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new EngineError('invalid', `${label}: the image config is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new EngineError('invalid', `${label}: the image config is not a JSON object`);
  const rootfs = doc['rootfs'];
  let diffIds: string[] | null = null;
  if (isObject(rootfs) && rootfs['diff_ids'] !== undefined && rootfs['diff_ids'] !== null) {
    const ids = rootfs['diff_ids'];
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new EngineError('invalid', `${label}: the image config's rootfs.diff_ids is not a list of digests`);
    diffIds = ids;
  }
  const created = typeof doc['created'] === 'string' && !Number.isNaN(Date.parse(doc['created'])) ? doc['created'] : EPOCH;
  return {
    architecture: typeof doc['architecture'] === 'string' ? doc['architecture'] : '',
    os: typeof doc['os'] === 'string' ? doc['os'] : '',
    created,
    config: pickImageConfig(doc['config'], label),
    diffIds,
  };
}

/** The config `docker import` writes for a root filesystem tarball whose uncompressed sha256 is `diffId`. */
export function importedConfig(diffId: string, overrides: Partial<ImageConfigJson> = {}, created = new Date().toISOString()): Buffer {
  const doc = {
    architecture: goArch(),
    os: 'linux',
    created,
    config: { Env: [DEFAULT_PATH_ENV], ...overrides },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: 'flotilla image import', comment: 'Imported from -' }],
  };
  return Buffer.from(JSON.stringify(doc));
}
