/**
 * What `stack deploy` and `stack config` read: Compose files (`-c`, repeatable, merged like `-f`,
 * read as `docker stack deploy` reads them: no `.env` unless `--env-file`) or a .dab bundle, made
 * into a compiled stack. Nothing here talks to the swarm.
 */
import { formatKeyPath, UsageError, type SourceLocation } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import { loadProject } from '../compose/load.js';
import { compileStack } from '../stack/compile.js';
import { stackNameProblem } from '../stack/names.js';
import type { StackSpec } from '../stack/spec.js';
import { compileBundle } from '../stack/bundle.js';
import { isPlainObject } from '../compose/yaml/read.js';
import type { CliContext } from './context.js';

export interface StackInput {
  stack: string;
  composeFiles: string[];
  bundleFile?: string | undefined;
  /** Variables files, read in order (a later one wins; the shell wins over all). */
  envFiles?: string[] | undefined;
  ordered?: boolean;
}

export function checkStackName(stack: string): void {
  const problem = stackNameProblem(stack);
  if (problem) throw new UsageError(problem);
}

export function loadStack(input: StackInput, ctx: CliContext, diagnostics: Diagnostics): StackSpec {
  checkStackName(input.stack);
  if (input.bundleFile !== undefined && input.composeFiles.length > 0) throw new UsageError('give either a bundle (--bundle-file) or Compose files (-c), not both');
  if (input.bundleFile !== undefined) return compileBundle(input.bundleFile, { stack: input.stack, cwd: ctx.cwd, diagnostics });
  if (input.composeFiles.length === 0) throw new UsageError('give a Compose file (-c FILE) or a bundle (--bundle-file FILE)');
  const options: Parameters<typeof loadProject>[0] = {
    cwd: ctx.cwd,
    shell: ctx.env,
    files: input.composeFiles,
    projectName: input.stack.toLowerCase(),
    dotenv: false,
    dialect: 'stack',
    checkBuildContext: false,
    readStdin: ctx.readStdin,
  };
  if (input.envFiles !== undefined && input.envFiles.length > 0) options.envFile = input.envFiles;
  const loaded = loadProject(options, diagnostics);
  const locate = (keyPath: (string | number)[]): SourceLocation => {
    for (let i = loaded.files.length - 1; i >= 0; i--) {
      const f = loaded.files[i];
      if (!f) continue;
      let node: unknown = f.doc;
      let found = true;
      for (const seg of keyPath) {
        if (isPlainObject(node) && typeof seg === 'string' && Object.hasOwn(node, seg)) node = node[seg];
        else if (Array.isArray(node) && typeof seg === 'number') node = node[seg];
        else found = false;
      }
      if (found) return { file: f.path, ...f.yaml.locate(keyPath), path: formatKeyPath(keyPath) };
    }
    return { path: formatKeyPath(keyPath) };
  };
  return compileStack(loaded.project, { stack: input.stack, diagnostics, locateService: loaded.locateService, locate, ordered: input.ordered === true });
}
