// The role assignments the Bicep deploys, for the emulator's RBAC (--grants): the local stack runs
// the controller with exactly the deployed grants, so every test that runs on the stack also shows
// that those roles suffice, and a missing one fails here as it would in Azure (issue 11 item 3).
// The grants come from scripts/deployed-grants.ts over the real Bicep compiler's output; compiling
// takes seconds, so the result is cached by the content of bicep/ and the scripts that read it.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file whose content decides the grants. */
function inputs(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.bicep')) files.push(p);
    }
  };
  walk(join(root, 'bicep'));
  files.push(join(root, 'scripts', 'deployed-grants.ts'), join(root, 'scripts', 'bicep-cli.ts'));
  return files;
}

export type GrantsResult = { file: string } | { file: undefined; why: string };

/**
 * The path of the deployed-grants file (compiled once per content of bicep/), or why there is none
 * (no Bicep compiler on this machine: the stack then runs without RBAC and says so).
 */
export function deployedGrantsFile(root: string): GrantsResult {
  const hash = createHash('sha256');
  for (const f of inputs(root)) hash.update(f.slice(root.length)).update(readFileSync(f));
  const dir = join(root, 'node_modules', '.cache', 'aci-batch-grants');
  const file = join(dir, `${hash.digest('hex').slice(0, 16)}.json`);
  if (existsSync(file)) return { file };
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'deployed-grants.ts'), tmp], {
    cwd: root,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0 || !existsSync(tmp)) {
    const why = `${(r.stderr || r.stdout || String(r.error ?? 'no output')).trim().split('\n').slice(-3).join(' ')}`;
    return { file: undefined, why };
  }
  renameSync(tmp, file); // atomic: parallel stacks never read a half-written file
  return { file };
}

/** The emulator's `--grants` arguments for a stack's `grants` option (see StackOptions). */
export function emulatorGrantsArgs(
  root: string,
  option: string | false | undefined,
  log: (m: string) => void,
): string[] {
  if (option === false || option === undefined) return [];
  const grants: GrantsResult = option === 'deployed' ? deployedGrantsFile(root) : { file: option };
  if (grants.file !== undefined) return ['--grants', grants.file];
  if (process.env.CI === 'true') throw new Error(`CI=true needs the deployed grants (RBAC): ${grants.why}`);
  log(`warning: RBAC not enforced (no deployed grants: ${grants.why})`);
  return [];
}
