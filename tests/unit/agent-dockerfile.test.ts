// The Dockerfile cannot be built here (no Docker engine), so its promises are checked as text:
// multi-stage, non-root, HEALTHCHECK, the agent as entrypoint, and a build that compiles exactly
// like `npm run build` (same compiler options and pinned compiler versions as the repository).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = join(__dirname, '../..');
const dockerfile = readFileSync(join(ROOT, 'batch-image/Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (/^FROM\s/i.test(line)) acc.push([]);
  acc.at(-1)?.push(line);
  return acc;
}, []);
const runtime = stages.at(-1) ?? [];

test('multi-stage: the runtime stage takes only dist/ and package.json from the build stage', () => {
  assert.ok(stages.length >= 2, 'at least a build and a runtime stage');
  assert.match(stages[0]?.[0] ?? '', /^FROM \S+ AS build$/);
  const copies = runtime.filter((l) => l.startsWith('COPY'));
  assert.deepEqual(copies, [
    'COPY --from=build /build/batch-image/package.json ./',
    'COPY --from=build /build/batch-image/dist ./dist',
  ]);
  assert.ok(
    !runtime.some((l) => /npm (install|ci)/.test(l)),
    'no npm install at runtime: the agent has no runtime dependencies',
  );
});

test('non-root, health-checked, the agent as entrypoint', () => {
  const user = runtime.filter((l) => l.startsWith('USER '));
  assert.deepEqual(user, ['USER node']);
  assert.ok(runtime.indexOf('USER node') < runtime.findIndex((l) => l.startsWith('ENTRYPOINT')));
  assert.ok(runtime.some((l) => /^HEALTHCHECK .*CMD \["node", "\/app\/dist\/agent\/healthcheck.js"\]$/.test(l)));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'batch-image/package.json'), 'utf8')) as { main: string };
  const entry = runtime.find((l) => l.startsWith('ENTRYPOINT')) ?? '';
  assert.ok(entry.includes(`"node", "/app/${pkg.main}"`), `${entry} runs package.json main (${pkg.main})`);
});

test("the build stage compiles with the repository's compiler options and versions", () => {
  const echoed = /echo '(\{.*\})' > \/build\/tsconfig.json/.exec(dockerfile)?.[1];
  assert.ok(echoed, 'the base tsconfig is written in the build stage');
  const root = ts.parseConfigFileTextToJson('tsconfig.json', readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'));
  assert.equal(root.error, undefined);
  assert.deepEqual(JSON.parse(echoed).compilerOptions, root.config.compilerOptions);

  const dev = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
  ).devDependencies;
  assert.ok(dockerfile.includes(`typescript@${dev.typescript}`), `typescript@${dev.typescript}`);
  assert.ok(dockerfile.includes(`@types/node@${dev['@types/node']}`), `@types/node@${dev['@types/node']}`);
});
