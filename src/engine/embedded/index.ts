/**
 * The embedded backend's entry point (loaded on demand by ../select.ts, so commands that need no
 * engine never load gRPC): the CLI's client of `flotilla daemon`.
 */
export { EmbeddedEngine } from './client.js';
export { openEmbeddedEngine, connectEmbeddedEngine, daemonNotRunning, DAEMON_ENTRY_VARIABLE, type OpenEmbeddedOptions } from './autostart.js';
