/**
 * A container's logging on the embedded engine: json-file, local and k8s-file all mean conmon's
 * k8s-file log in the container's folder, rotated by the daemon at `max-size`, keeping
 * `max-file` files (the current one included, as Docker counts them); `none` keeps no log. Other
 * drivers (syslog, journald, fluentd, ...) are refused rather than silently ignored.
 */
import type { ContainerSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';

const FILE_DRIVERS = new Set(['json-file', 'local', 'k8s-file', '']);

export function logSettings(spec: ContainerSpec): { maxSize?: number; maxFiles?: number } | null {
  const driver = spec.logConfig?.type ?? '';
  if (driver === 'none') return null;
  if (!FILE_DRIVERS.has(driver)) {
    throw new EngineError('invalid', `logging driver "${driver}" is not available on the embedded engine (json-file, local or none)`);
  }
  const options = spec.logConfig?.config ?? {};
  const out: { maxSize?: number; maxFiles?: number } = {};
  if (options['max-size'] !== undefined && options['max-size'] !== '-1') out.maxSize = parseSize(options['max-size']);
  if (options['max-file'] !== undefined) {
    const n = Number(options['max-file']);
    if (!Number.isInteger(n) || n < 1) throw new EngineError('invalid', `invalid value for log option max-file: ${options['max-file']}`);
    out.maxFiles = n;
  }
  return out;
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(text.trim());
  if (!m) throw new EngineError('invalid', `invalid value for log option max-size: ${text}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * unit);
}
