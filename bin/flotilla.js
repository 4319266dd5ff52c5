#!/usr/bin/env node
// No V8 flags here: any one changes V8's flag hash, Node's built-in code cache for its own modules
// is then rejected, and every command pays about 10 ms to compile them from source.
import { loadWithCodeCache } from '../dist/src/util/code-cache.js';

// The CLI is one CommonJS bundle, loaded through V8's code cache (see src/util/code-cache.ts).
const { main } = loadWithCodeCache(new URL('../dist/bundle/main.cjs', import.meta.url).pathname);
main(process.argv.slice(2));
