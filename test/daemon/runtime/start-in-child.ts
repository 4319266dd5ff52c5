/**
 * Run by adoption.test.ts as its own process: prepares and starts one container with a Runtime
 * of its own, prints the container's pid and exits, as a daemon would die with the container
 * left running under conmon. argv: the daemon root, then the BundleRequest as JSON.
 */
import { daemonPaths } from '../../../src/daemon/paths.js';
import { Runtime } from '../../../src/daemon/runtime/runtime.js';
import type { BundleRequest } from '../../../src/daemon/runtime/types.js';

const [root, json] = process.argv.slice(2);
if (!root || !json) throw new Error('usage: start-in-child <daemon root> <bundle request JSON>');
const runtime = new Runtime(daemonPaths({ FLOTILLA_ROOT: root }), (line) => process.stderr.write(`${line}\n`));
const req = JSON.parse(json) as BundleRequest;
await runtime.prepare(req);
const { pid } = await runtime.start(req.id);
process.stdout.write(`${JSON.stringify({ pid })}\n`);
process.exit(0);
