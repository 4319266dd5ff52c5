import { FlotillaError } from '../errors.js';

/** A build context that cannot be read, or a .dockerignore that cannot be used: the user's to fix. */
export class BuildContextError extends FlotillaError {}
