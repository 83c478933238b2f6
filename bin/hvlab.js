#!/usr/bin/env node
// The hvlab command line. The TypeScript sources in src/ are compiled to dist/ by `npm run build`
// (which `npm install` runs through the prepare script).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
