import { FlotillaError } from '../errors.js';

/** Why `flotilla daemon` cannot start (not root, a tool missing, its socket taken): one line for the user. */
export class DaemonStartError extends FlotillaError {}
