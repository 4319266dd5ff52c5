#!/usr/bin/env -S node --max-semi-space-size=32
// A larger young generation: a big Compose file allocates many short-lived objects, and the
// default size spends ~20% of a 500-service `config` in garbage collection.
import { main } from '../dist/bundle/main.mjs';

main(process.argv.slice(2));
