/**
 * Interpolates one Compose file: values (never keys) of the services, networks, volumes, secrets
 * and configs sections (and the Spec's top-level `name` and `include`), then re-types them
 * (./conversions.ts). Top-level `version` and `x-*` extensions are left as written, as
 * docker-compose does. Returns a new tree; the input is not
 * modified.
 */
import { setOwn } from '../../util/own.js';
import { ConfigError, formatKeyPath } from '../../errors.js';
import type { Diagnostics } from '../../diagnostics.js';
import type { Environment } from '../environment.js';
import { isPlainObject, type YamlFile } from '../yaml/read.js';
import { EXPANDED_LIMIT_TEXT, MAX_EXPANDED_BYTES } from '../limits.js';
import { ConversionError, converterFor, type Section } from './conversions.js';
import { substitute, TemplateError, type TemplateContext } from './template.js';

export interface InterpolationOptions {
  environment: Environment;
  diagnostics: Diagnostics;
  /** `config --no-interpolate`: leave `${...}` as written and skip the re-typing too. */
  enabled: boolean;
  /** Interpolate top-level `x-` keys too (version-less files, whose `config` prints them, as v2). */
  extensions?: boolean;
}

const SECTIONS: [string, Section][] = [
  ['services', 'service'],
  ['volumes', 'volume'],
  ['networks', 'network'],
  ['secrets', 'secret'],
  ['configs', 'config'],
];

const SPEC_TOP_LEVEL = ['name', 'include'];

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
  // The Compose Specification's top-level keys that Compose v2 interpolates (only version-less
  // files may have them; docker-compose 1.29.2 has neither).
  for (const key of SPEC_TOP_LEVEL) if (Object.hasOwn(doc, key)) out[key] = walker.topLevel(key, doc[key]);
  if (options.extensions) for (const key of Object.keys(doc)) if (key.startsWith('x-')) out[key] = walker.topLevel(key, doc[key]);
  return out;
}

class Walker {
  /** Where the walk is: the key path in the file (with list indexes) and the config path (without). */
  private readonly keyPath: (string | number)[] = [];
  private readonly configPath: string[] = [];
  /** Characters of keys and strings the sections may still expand to (aliases, variables). */
  private budget = MAX_EXPANDED_BYTES;

  constructor(
    private readonly ctx: TemplateContext,
    private readonly source: YamlFile,
  ) {}

  section(entries: Record<string, unknown>, section: Section, prefix: (string | number)[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, body] of Object.entries(entries)) {
      // An entry left empty (`web:` with every key commented out) is an empty mapping, as
      // docker-compose's interpolation makes it before the schema sees it.
      if (body === null) {
        setOwn(out, name, {});
        continue;
      }
      if (!isPlainObject(body)) {
        setOwn(out, name, body);
        continue;
      }
      this.keyPath.splice(0, this.keyPath.length, ...prefix, name);
      this.configPath.splice(0, this.configPath.length, section, name);
      setOwn(out, name, this.value(body));
    }
    return out;
  }

  topLevel(key: string, v: unknown): unknown {
    this.keyPath.splice(0, this.keyPath.length, key);
    this.configPath.splice(0, this.configPath.length, key);
    return this.value(v);
  }

  private value(v: unknown): unknown {
    if (typeof v === 'string') return this.convert(this.spend(v.includes('$') ? this.interpolate(v) : v));
    if (Array.isArray(v)) {
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        this.keyPath.push(i);
        out[i] = this.value(v[i]);
        this.keyPath.pop();
      }
      return out;
    }
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        this.spend(k);
        this.keyPath.push(k);
        this.configPath.push(k);
        const item = this.value(v[k]);
        this.keyPath.pop();
        this.configPath.pop();
        setOwn(out, k, item);
      }
      return out;
    }
    return this.convert(v);
  }

  private interpolate(template: string): string {
    try {
      return substitute(template, this.ctx, this.budget);
    } catch (e) {
      if (e instanceof TemplateError) throw e.kind === 'too-long' ? this.tooLarge() : this.error(e.message);
      throw e;
    }
  }

  private spend(text: string): string {
    this.budget -= text.length;
    if (this.budget < 0) throw this.tooLarge();
    return text;
  }

  private tooLarge(): ConfigError {
    return this.error(`the file expands to ${EXPANDED_LIMIT_TEXT} of text through aliases and variables; refusing it`);
  }

  private convert(v: unknown): unknown {
    const conv = converterFor(this.configPath);
    if (!conv) return v;
    const integral = this.source.integralFloats.size > 0 && this.source.integralFloats.has(formatKeyPath(this.keyPath));
    try {
      return conv(v, integral);
    } catch (e) {
      if (e instanceof ConversionError) throw this.error(`cannot convert to the expected type: ${e.message}`);
      throw e;
    }
  }

  private error(message: string): ConfigError {
    const keyPath = [...this.keyPath];
    const pos = this.source.locate(keyPath);
    return new ConfigError(message, { file: this.source.file, ...pos, path: formatKeyPath(keyPath) });
  }
}
