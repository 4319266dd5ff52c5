#!/usr/bin/env node
import { main } from '../dist/flotilla.mjs';

main(process.argv.slice(2));
