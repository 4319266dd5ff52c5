#!/bin/sh
":" //; for a do shift; case $a in --env-file*|\\*) a="\\$a";; esac; set -- "$@" "$a"; done; FLOTILLA_ARGV_ESCAPED=1 exec node "$0" "$@"
// The two lines above are shell; to JavaScript they are a string and a comment. Node reads every
// argument that starts with "--env-file" as its own option, the script's arguments included
// (nodejs/node#54232; 20.16 to 20.20, 22.12 and 24.13 tried; 20.16 to 20.18 even past "--"): the
// file is loaded into process.env with Node's parser, a missing one exits 9, /dev/zero is read
// forever. So Node never sees one: the shell writes such an argument, and any argument that starts
// with a backslash, with one more backslash in front, and the script takes it off again.
// No V8 flags here: any one changes V8's flag hash, Node's built-in code cache for its own modules
// is then rejected, and every command pays about 10 ms to compile them from source.
import { loadWithCodeCache } from '../dist/src/util/code-cache.js';

let argv = process.argv.slice(2);
if (process.env.FLOTILLA_ARGV_ESCAPED === '1') {
  delete process.env.FLOTILLA_ARGV_ESCAPED;
  argv = argv.map((a) => (a.startsWith('\\') ? a.slice(1) : a));
}
// The CLI is one CommonJS bundle, loaded through V8's code cache (see src/util/code-cache.ts).
const { main } = loadWithCodeCache(new URL('../dist/bundle/main.cjs', import.meta.url).pathname);
main(argv);
