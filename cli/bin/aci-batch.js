#!/usr/bin/env node
// The `aci-batch` binary (package.json "bin"): the compiled CLI, built by `npm run build` (which
// `npm install` runs). A clear message instead of a stack when it has not been built yet.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS entry, run by node as-is */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`aci-batch: ${entry} is missing; run \`npm run build\` in ${join(__dirname, '..', '..')}\n`);
  process.exit(2);
}
require(entry);
