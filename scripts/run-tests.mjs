#!/usr/bin/env node
// Runs Node's built-in test runner over every tests/**/*.test.ts (or the folders given),
// with TypeScript through tsx. Node 20's --test does not expand globs itself.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures' || name === 'dist') continue;
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['tests']).flatMap((r) => (r.endsWith('.ts') ? [r] : collect(r, [])));
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found under ' + (roots.join(', ') || 'tests'));
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// A failed test must never hang the run: --test-force-exit ends a file once its tests are done even
// if a failure left a server or a child open (one such leak once held CI until its 90-minute limit),
// and --test-timeout bounds every file and test (the longest stack file takes about 3 minutes).
const timeoutMs = process.env.TEST_TIMEOUT_MS ?? '900000';
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-force-exit',
    `--test-timeout=${timeoutMs}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
