#!/usr/bin/env node
// No V8 flags here: any one changes V8's flag hash, Node's built-in code cache for its own modules
// is then rejected, and every command pays about 10 ms to compile them from source.
import { main } from '../dist/bundle/main.mjs';

main(process.argv.slice(2));
