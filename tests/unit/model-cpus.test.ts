// Worker count from the container's real CPU quota: /proc/self/cgroup parsing, cgroup v1
// (cpu.cfs_quota_us / cpu.cfs_period_us, as the local ACI emulator sets) and v2 (cpu.max), parents'
// limits, and rounding (0.5 CPU still gets one worker). Table-driven over fake file trees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { availableCpus, detectCpuLimit, parseProcCgroup, workerCountFor } from '../../batch-image/src/model';

function tree(files: Record<string, string>, fn: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('parseProcCgroup reads v1 controllers and the v2 path', () => {
  const { v1, v2 } = parseProcCgroup('12:cpu,cpuacct:/aci/group-1\n4:memory:/aci/group-1\n0::/unified/x\n');
  assert.equal(v1.get('cpu'), '/aci/group-1');
  assert.equal(v1.get('cpuacct'), '/aci/group-1');
  assert.equal(v1.get('memory'), '/aci/group-1');
  assert.equal(v2, '/unified/x');
});

const cases: { name: string; files: Record<string, string>; quota: number | null; workers: number }[] = [
  {
    name: 'v1 quota of 2 CPUs (emulator container group)',
    files: {
      'proc/self/cgroup': '3:cpu:/aci-emulator/g1\n2:memory:/aci-emulator/g1\n',
      'sys/fs/cgroup/cpu/aci-emulator/g1/cpu.cfs_quota_us': '200000\n',
      'sys/fs/cgroup/cpu/aci-emulator/g1/cpu.cfs_period_us': '100000\n',
    },
    quota: 2,
    workers: 2,
  },
  {
    name: 'v1 half a CPU still runs one worker',
    files: {
      'proc/self/cgroup': '3:cpu,cpuacct:/g\n',
      'sys/fs/cgroup/cpu,cpuacct/g/cpu.cfs_quota_us': '50000',
      'sys/fs/cgroup/cpu,cpuacct/g/cpu.cfs_period_us': '100000',
    },
    quota: 0.5,
    workers: 1,
  },
  {
    name: 'v1 unlimited (-1) falls back to the visible CPUs',
    files: {
      'proc/self/cgroup': '3:cpu:/g\n',
      'sys/fs/cgroup/cpu/g/cpu.cfs_quota_us': '-1',
      'sys/fs/cgroup/cpu/g/cpu.cfs_period_us': '100000',
    },
    quota: null,
    workers: 8,
  },
  {
    name: 'v1 limit on a parent cgroup applies',
    files: {
      'proc/self/cgroup': '3:cpu:/parent/child\n',
      'sys/fs/cgroup/cpu/parent/cpu.cfs_quota_us': '150000',
      'sys/fs/cgroup/cpu/parent/cpu.cfs_period_us': '100000',
      'sys/fs/cgroup/cpu/parent/child/cpu.cfs_quota_us': '-1',
      'sys/fs/cgroup/cpu/parent/child/cpu.cfs_period_us': '100000',
    },
    quota: 1.5,
    workers: 2,
  },
  {
    name: 'v2 cpu.max',
    files: { 'proc/self/cgroup': '0::/job\n', 'sys/fs/cgroup/job/cpu.max': '300000 100000\n' },
    quota: 3,
    workers: 3,
  },
  {
    name: 'v2 "max" means no quota',
    files: { 'proc/self/cgroup': '0::/job\n', 'sys/fs/cgroup/job/cpu.max': 'max 100000\n' },
    quota: null,
    workers: 8,
  },
  {
    name: 'quota above the visible CPUs is capped by them',
    files: { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '1600000 100000\n' },
    quota: 16,
    workers: 8,
  },
  { name: 'no /proc (not Linux)', files: {}, quota: null, workers: 8 },
];

for (const c of cases) {
  test(`cpu limit: ${c.name}`, () => {
    tree(c.files, (root) => {
      const limit = detectCpuLimit(root);
      assert.equal(limit.quotaCpus, c.quota);
      assert.equal(workerCountFor(limit, 8), c.workers);
    });
  });
}

test('availableCpus on this machine is a positive integer', () => {
  const n = availableCpus();
  assert.ok(Number.isInteger(n) && n >= 1);
});

test('real cgroup v1 cpu controller: a process inside sees its quota (skipped where not writable)', (t) => {
  const dir = `/sys/fs/cgroup/cpu/aci-batch-model-test-${process.pid}`;
  try {
    mkdirSync(dir);
  } catch {
    t.skip('the cgroup v1 cpu hierarchy is not writable here');
    return;
  }
  try {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
    const cpus = join(__dirname, '..', '..', 'batch-image', 'src', 'model', 'cpus.ts');
    for (const [quota, expected, workers] of [
      [50_000, 0.5, 1],
      [200_000, 2, 2],
    ] as const) {
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      const script = `const m = require(${JSON.stringify(cpus)}); console.log(JSON.stringify({ q: m.detectCpuLimit().quotaCpus, w: m.workerCountFor(m.detectCpuLimit(), 64) }))`;
      // The shell moves itself into the cgroup, then becomes node: the measured process is inside.
      const r = spawnSync(
        'sh',
        ['-c', `echo $$ > ${dir}/cgroup.procs && exec "${process.execPath}" --import tsx -e '${script}'`],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { q: expected, w: workers });
    }
  } finally {
    rmdirSync(dir);
  }
});
