/**
 * Interpolates one Compose file: values (never keys) of the services, networks, volumes, secrets
 * and configs sections, then re-types them (./conversions.ts). Top-level `version` and `x-*`
 * extensions are left as written, as docker-compose does. Returns a new tree; the input is not
 * modified.
 */
import { ConfigError, formatKeyPath } from '../../errors.js';
import type { Diagnostics } from '../../diagnostics.js';
import type { Environment } from '../environment.js';
import { isPlainObject, type YamlFile } from '../yaml/read.js';
import { ConversionError, converterFor, type Section } from './conversions.js';
import { substitute, TemplateError, type TemplateContext } from './template.js';

export interface InterpolationOptions {
  environment: Environment;
  diagnostics: Diagnostics;
  /** `config --no-interpolate`: leave `${...}` as written and skip the re-typing too. */
  enabled: boolean;
}

const SECTIONS: [string, Section][] = [
  ['services', 'service'],
  ['volumes', 'volume'],
  ['networks', 'network'],
  ['secrets', 'secret'],
  ['configs', 'config'],
];

/** `doc` is a v1 file (services at the top level) when `legacy` is true. */
export function interpolateFile(
  doc: Record<string, unknown>,
  source: YamlFile,
  legacy: boolean,
  options: InterpolationOptions,
): Record<string, unknown> {
  if (!options.enabled) return doc;
  const ctx: TemplateContext = {
    lookup: (name) => options.environment.get(name),
    dialect: legacy ? 'legacy' : 'compose',
    onUnset: (name) =>
      options.diagnostics.warnOnce(`unset:${name}`, `The ${name} variable is not set. Defaulting to a blank string.`),
  };
  const walker = new Walker(ctx, source);
  if (legacy) return walker.section(doc, 'service', []) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...doc };
  for (const [key, section] of SECTIONS) {
    if (isPlainObject(doc[key])) out[key] = walker.section(doc[key], section, [key]);
  }
  return out;
}

class Walker {
  constructor(
    private readonly ctx: TemplateContext,
    private readonly source: YamlFile,
  ) {}

  section(entries: Record<string, unknown>, section: Section, prefix: (string | number)[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, body] of Object.entries(entries)) {
      out[name] = isPlainObject(body)
        ? this.value(body, [...prefix, name], [section, name])
        : body;
    }
    return out;
  }

  /** keyPath locates the value in the file (with list indexes); configPath selects conversions (without). */
  private value(v: unknown, keyPath: (string | number)[], configPath: string[]): unknown {
    if (typeof v === 'string') return this.convert(this.interpolate(v, keyPath), keyPath, configPath);
    if (Array.isArray(v)) return v.map((item, i) => this.value(item, [...keyPath, i], configPath));
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        Object.defineProperty(out, k, {
          value: this.value(item, [...keyPath, k], [...configPath, k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return this.convert(v, keyPath, configPath);
  }

  private interpolate(template: string, keyPath: (string | number)[]): string {
    try {
      return substitute(template, this.ctx);
    } catch (e) {
      if (e instanceof TemplateError) throw this.error(e.message, keyPath);
      throw e;
    }
  }

  private convert(v: unknown, keyPath: (string | number)[], configPath: string[]): unknown {
    const conv = converterFor(configPath);
    if (!conv) return v;
    try {
      return conv(v, this.source.integralFloats.has(formatKeyPath(keyPath)));
    } catch (e) {
      if (e instanceof ConversionError) throw this.error(`cannot convert to the expected type: ${e.message}`, keyPath);
      throw e;
    }
  }

  private error(message: string, keyPath: (string | number)[]): ConfigError {
    const pos = this.source.locate(keyPath);
    return new ConfigError(message, { file: this.source.file, ...pos, path: formatKeyPath(keyPath) });
  }
}
