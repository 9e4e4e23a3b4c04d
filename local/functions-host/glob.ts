// Resolves the package.json "main" glob (e.g. "dist/src/functions/*.js") the way the Node worker
// does. Node 20 has no fs.globSync, so this supports the subset apps use: *, **, ?, {a,b}.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

function segmentToRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = segment.indexOf('}', i);
      if (end < 0) {
        re += '\\{';
        continue;
      }
      re +=
        '(?:' +
        segment
          .slice(i + 1, end)
          .split(',')
          .map(escape)
          .join('|') +
        ')';
      i = end;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function isGlob(pattern: string): boolean {
  return /[*?{]/.test(pattern);
}

/** Files under `root` matching `pattern` (relative, forward slashes), sorted for a stable load order. */
export function globFiles(root: string, pattern: string): string[] {
  const parts = pattern
    .replace(/^\.\//, '')
    .split('/')
    .filter((p) => p.length > 0);
  const out: string[] = [];
  walk(root, parts, out);
  return [...new Set(out)].sort((a, b) =>
    relative(root, a).split(sep).join('/').localeCompare(relative(root, b).split(sep).join('/')),
  );
}

function walk(dir: string, parts: string[], out: string[]): void {
  const [head, ...rest] = parts;
  if (head === undefined) return;
  if (head === '**') {
    walk(dir, rest, out); // zero directories
    for (const name of safeReaddir(dir)) {
      if (name === 'node_modules') continue;
      const p = join(dir, name);
      if (isDir(p)) walk(p, parts, out);
    }
    return;
  }
  const names = isGlob(head) ? safeReaddir(dir).filter((n) => segmentToRegExp(head).test(n)) : [head];
  for (const name of names) {
    const p = join(dir, name);
    if (rest.length === 0) {
      if (isFile(p)) out.push(p);
    } else if (isDir(p)) walk(p, rest, out);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
