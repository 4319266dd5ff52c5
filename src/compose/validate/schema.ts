/**
 * JSON Schema validation with the schemas in schemas/. The build compiles each schema once into a
 * standalone validator (dist/schemas/<name>.cjs, see scripts/build.mjs), so a run loads ready code
 * instead of compiling schemas at start-up, through V8's code cache (../../util/code-cache.ts).
 */
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { loadWithCodeCache } from '../../util/code-cache.js';
import { packageRoot } from '../../util/package-root.js';
import { explainSchemaErrors, type SchemaProblem } from './schema-errors.js';

export type SchemaName = 'compose-v1' | 'compose-spec' | 'compose-spec-current' | 'compose-v2' | 'compose-v3' | 'stack-v3' | 'dab-v0.1';

interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const cache = new Map<SchemaName, CompiledValidator>();

function validator(name: SchemaName): CompiledValidator {
  let v = cache.get(name);
  if (!v) {
    v = loadWithCodeCache(join(packageRoot(), 'dist', 'schemas', `${name}.cjs`)) as CompiledValidator;
    cache.set(name, v);
  }
  return v;
}

/** All problems `data` has against the schema, explained (empty when valid). */
export function validateAgainst(name: SchemaName, data: unknown): SchemaProblem[] {
  const v = validator(name);
  if (v(data)) return [];
  return explainSchemaErrors(v.errors ?? [], data);
}

export type { SchemaProblem };
