/** The TypeScript sources of src/, read once, with their relative imports resolved to files. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (dist/test/architecture → three levels up). */
export const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'));
const SRC = join(ROOT, 'src');

export interface Source {
  /** Relative to src/: "plan/up.ts". */
  path: string;
  text: string;
  /** Files under src/ this one imports (statically, dynamically, or re-exports from). */
  imports: string[];
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

let cached: Source[] | undefined;

export function sources(): Source[] {
  if (cached) return cached;
  cached = files(SRC).map((file) => {
    const text = readFileSync(file, 'utf8');
    const imports = [...text.matchAll(SPECIFIER)].map((m) => relative(SRC, join(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))));
    return { path: relative(SRC, file), text, imports };
  });
  return cached;
}

/** The top-level folder of a path under src/ ("plan"), or the file itself for src/*.ts ("errors.ts"). */
export function layerOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? path : path.slice(0, slash);
}
