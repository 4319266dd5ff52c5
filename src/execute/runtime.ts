/**
 * What a command that touches the engine works with: the engine, the loaded project (and where
 * its keys are written, for messages), progress reporting and the concurrency limit.
 */
import type { Diagnostics } from '../diagnostics.js';
import type { Engine } from '../contract/engine.js';
import type { SourceLocation } from '../errors.js';
import type { Deployment } from '../model/deployment.js';
import type { Plan } from '../plan/plan.js';
import type { Limiter } from './limiter.js';
import type { Progress } from './progress.js';

export interface ProjectRuntime {
  engine: Engine;
  deployment: Deployment;
  /** Profiles enabled by --profile / COMPOSE_PROFILES. */
  profiles: string[];
  cwd: string;
  /** The process environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** The project's variables: `.env` (or --env-file) under the shell's, as interpolation saw them. */
  variables: Readonly<Record<string, string>>;
  diagnostics: Diagnostics;
  progress: Progress;
  limiter: Limiter;
  /** The global --dry-run: each plan is handed here instead of being run. */
  dryRun?: (plan: Plan) => void;
  locateService(service: string, keyPath: (string | number)[]): SourceLocation;
}
