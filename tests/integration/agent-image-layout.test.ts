// The image without Docker: the Dockerfile's build stage replayed in a temp folder (the build
// context minus .dockerignore, the base tsconfig it writes, the pinned compiler), then the runtime
// stage's layout (/app = package.json + dist, no node_modules anywhere above it) run on plain node:
// the health check passes, and a model fit (worker threads) and a command both run from dist.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT, startAgentProcess } from '../fixtures/agent/agent-process';
import { waitFor } from '../fixtures/agent/wait';

const work = mkdtempSync(join(tmpdir(), 'agent-image-'));
after(() => rmSync(work, { recursive: true, force: true }));

function buildLikeTheDockerfile(): string {
  const dockerfile = readFileSync(join(REPO_ROOT, 'batch-image/Dockerfile'), 'utf8');
  const build = join(work, 'build');
  // COPY package.json tsconfig.json batch-image/ ; COPY src batch-image/src
  mkdirSync(join(build, 'batch-image'), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json'])
    cpSync(join(REPO_ROOT, 'batch-image', f), join(build, 'batch-image', f));
  cpSync(join(REPO_ROOT, 'batch-image/src'), join(build, 'batch-image/src'), { recursive: true });
  // RUN echo '{...}' > /build/tsconfig.json
  const base = /echo '(\{.*\})' > \/build\/tsconfig.json/.exec(dockerfile)?.[1];
  assert.ok(base);
  writeFileSync(join(build, 'tsconfig.json'), base);
  // RUN npm install typescript @types/node (the same pinned versions are in the repository's node_modules)
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(build, 'node_modules'), 'dir');
  // RUN npx tsc -p batch-image
  execFileSync(process.execPath, [join(build, 'node_modules/typescript/bin/tsc'), '-p', join(build, 'batch-image')], {
    stdio: 'pipe',
  });
  // Runtime stage: COPY package.json and dist to /app.
  const app = join(work, 'app');
  mkdirSync(app);
  cpSync(join(build, 'batch-image/package.json'), join(app, 'package.json'));
  cpSync(join(build, 'batch-image/dist'), join(app, 'dist'), { recursive: true });
  return app;
}

test('the runtime layout runs with no node_modules: health check, model fit, command', async () => {
  const app = buildLikeTheDockerfile();
  for (let dir = app; dir !== join(dir, '..'); dir = join(dir, '..')) {
    assert.ok(!existsSync(join(dir, 'node_modules')), `no node_modules in ${dir}: the image has none`);
  }
  const main = join(app, (JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { main: string }).main);
  const agent = await startAgentProcess({ host: '127.0.0.61', entry: main, cwd: app });
  try {
    const port = new URL(agent.baseUrl).port;
    const healthcheck = join(app, 'dist/agent/healthcheck.js');
    const healthy = spawnSync(process.execPath, [healthcheck], {
      env: { HOST: '127.0.0.61', PORT: port },
      timeout: 10_000,
    });
    assert.equal(healthy.status, 0, 'HEALTHCHECK passes against the running agent');
    const wrongPort = spawnSync(process.execPath, [healthcheck], {
      env: { HOST: '127.0.0.61', PORT: '1' },
      timeout: 10_000,
    });
    assert.equal(wrongPort.status, 1, 'and fails when nothing answers');

    const y = Array.from({ length: 60 }, (_, t) => (t < 30 ? 0 : 4) + Math.sin(t * 1.7));
    assert.equal((await agent.call('POST', '/start', { jobId: 'img', input: { y, k: 2, starts: 2 } })).status, 202);
    const status = await waitFor(
      'the fit',
      async () => {
        const s = await agent.call('GET', '/status');
        return s.body.state !== 'running' ? s.body : undefined;
      },
      30_000,
    );
    assert.equal(status.state, 'succeeded', JSON.stringify(status));
    const result = await agent.call('GET', '/result');
    assert.deepEqual(
      result.body.artifacts.map((a: { name: string }) => a.name),
      ['chart.svg', 'result.json'],
    );
  } finally {
    await agent.stop();
  }

  const tenant = await startAgentProcess({
    host: '127.0.0.62',
    entry: main,
    cwd: app,
    env: {
      AGENT_COMMAND: JSON.stringify([
        'node',
        '-e',
        "require('fs').writeFileSync(process.env.RESULT_DIR + '/result.json', '{\"ok\":true}')",
      ]),
    },
  });
  try {
    await tenant.call('POST', '/start', { jobId: 'cmd' });
    const status = await waitFor('the command', async () => {
      const s = await tenant.call('GET', '/status');
      return s.body.state !== 'running' ? s.body : undefined;
    });
    assert.equal(status.state, 'succeeded');
    assert.deepEqual((await tenant.call('GET', '/result')).body.result, { ok: true, exitCode: 0 });
  } finally {
    await tenant.stop();
  }
});
