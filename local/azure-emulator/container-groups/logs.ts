// Container logs: output goes to a raw file (it survives an emulator crash); a poller moves it into a
// timestamped log (a line's time = when first seen), trimmed to what ACI keeps: the LAST 4 MB of a
// running container (MicrosoftDocs/azure-docs container-instances-resource-and-quota-limits.md,
// "Container instance log size - running instance: 4 MB"; stopped: "16 KB or 1,000 lines").
// The raw file is never truncated under its writer (what was appended between the read and the
// truncation was lost, the end of a 60 MB log with it): space already read is freed by punching a
// hole (offsets stay valid), and of a burst only the last 8 MB is read at all.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { HttpError } from '../http-util';
import { LOG_LIMIT_BYTES, now, type GroupRecord } from './model';
import type { GroupStore } from './store';

/** Raw output already read is given back to the disk in steps of this size. */
const RAW_RECLAIM_BYTES = 8 * 1024 * 1024;
/** Of new output beyond this, only the end is read: the log keeps at most LOG_LIMIT_BYTES anyway. */
const MAX_READ_BYTES = 2 * LOG_LIMIT_BYTES;
/** false once hole punching failed (no fallocate, or a filesystem without it): raw files just grow. */
let canPunch = true;

/** Free the first `length` bytes of a file without moving its end (FALLOC_FL_PUNCH_HOLE, util-linux). */
function punchHole(file: string, length: number): void {
  if (!canPunch || length <= 0) return;
  const r = spawnSync('fallocate', ['--punch-hole', '--offset', '0', '--length', String(length), file], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  if (r.status !== 0) canPunch = false;
}

export class GroupLogs {
  private logTimer?: NodeJS.Timeout;
  private readonly offsetsDirty = new Set<string>();
  private lastOffsetSave = Date.now();

  constructor(private readonly store: GroupStore) {
    this.logTimer = setInterval(() => this.catchUpAll(), 1000);
    this.logTimer.unref();
  }

  close(): void {
    if (this.logTimer) clearInterval(this.logTimer);
  }

  private catchUpAll(): void {
    for (const g of this.store.groups.values()) {
      for (const rt of Object.values(g.containers)) if (rt.pid) this.catchUp(g, rt.name, false);
    }
    if (this.offsetsDirty.size && Date.now() - this.lastOffsetSave >= 5000) {
      this.lastOffsetSave = Date.now();
      for (const key of this.offsetsDirty) {
        const g = this.store.groups.get(key);
        if (g) this.store.save(g);
      }
      this.offsetsDirty.clear();
    }
  }

  /** Move new output from the raw file into the timestamped log (a line's time = when first seen). */
  catchUp(g: GroupRecord, c: string, final: boolean): void {
    const rt = g.containers[c];
    const raw = this.store.rawFile(g, c);
    if (!rt || !existsSync(raw)) return;
    let fd: number;
    try {
      fd = openSync(raw, 'r');
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < rt.rawOffset) rt.rawOffset = 0; // a new file (a new deployment)
      if (size === rt.rawOffset) return;
      const before = rt.rawOffset;
      // A burst bigger than what the log keeps: read only its end, from a line start.
      const from = size - before > MAX_READ_BYTES ? size - MAX_READ_BYTES : before;
      const buf = Buffer.alloc(size - from);
      readSync(fd, buf, 0, buf.length, from);
      const skip = from > before ? buf.indexOf(10) + 1 : 0;
      let text = buf.subarray(skip).toString('utf8');
      let consumed = buf.length;
      const lastNl = text.lastIndexOf('\n');
      if (!final && lastNl < text.length - 1 && (lastNl >= 0 || buf.length - skip < 64 * 1024)) {
        // Keep a partial last line for the next round (a line still unended after 64 KiB is taken as is).
        consumed = skip + Buffer.byteLength(text.slice(0, lastNl + 1));
        text = text.slice(0, lastNl + 1);
      }
      if (text) {
        const t = now();
        const lines = text.replace(/\n$/, '').split('\n');
        appendFileSync(this.store.logFile(g, c), lines.map((l) => `${t} ${l}\n`).join(''));
      }
      rt.rawOffset = from + consumed;
      // Persist the offset now and then (not per line: hundreds of chatty groups would mean hundreds
      // of record writes a second), so a re-adopting run stamps at most a few seconds twice.
      if (consumed > 0) this.offsetsDirty.add(g.key);
      if (Math.floor(rt.rawOffset / RAW_RECLAIM_BYTES) > Math.floor(before / RAW_RECLAIM_BYTES))
        punchHole(raw, rt.rawOffset - (rt.rawOffset % 4096));
      const lf = this.store.logFile(g, c);
      // The stamped file holds ~25 bytes of timestamp per line: keep enough for 4 MiB of content.
      if (existsSync(lf) && statSync(lf).size > 4 * LOG_LIMIT_BYTES) trimFile(lf, 3 * LOG_LIMIT_BYTES);
    } finally {
      closeSync(fd);
    }
  }

  /** Keep the lines whose content (timestamps aside) makes up the last `keep` bytes. */
  trim(g: GroupRecord, keep: number): void {
    for (const c of Object.keys(g.containers)) {
      this.catchUp(g, c, true);
      const lf = this.store.logFile(g, c);
      if (!existsSync(lf)) continue;
      const lines = readFileSync(lf, 'utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      let size = 0;
      let first = lines.length;
      while (first > 0) {
        const line = lines[first - 1] as string;
        const content = Buffer.byteLength(line.slice(line.indexOf(' ') + 1)) + 1;
        if (size + content > keep) break;
        size += content;
        first -= 1;
      }
      if (first > 0)
        writeFileSync(
          lf,
          lines
            .slice(first)
            .map((l) => l + '\n')
            .join(''),
        );
    }
  }

  read(g: GroupRecord, container: string, tail?: number, timestamps?: boolean): string {
    if (!g.containers[container])
      throw new HttpError(
        404,
        'ContainerNotFound',
        `The container '${container}' of container group '${g.name}' was not found.`,
      );
    this.catchUp(g, container, false);
    const lf = this.store.logFile(g, container);
    if (!existsSync(lf)) return '';
    let lines = readFileSync(lf, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (tail !== undefined) lines = tail > 0 ? lines.slice(-tail) : [];
    if (!timestamps) lines = lines.map((l) => l.slice(l.indexOf(' ') + 1));
    let text = lines.length ? lines.join('\n') + '\n' : '';
    if (Buffer.byteLength(text) > LOG_LIMIT_BYTES) {
      // At most the last 4 MiB, starting at a line.
      const buf = Buffer.from(text);
      const cut = buf.subarray(buf.length - LOG_LIMIT_BYTES);
      text = cut.subarray(cut.indexOf(10) + 1).toString('utf8');
    }
    return text;
  }
}

function trimFile(file: string, keep: number): void {
  const data = readFileSync(file);
  if (data.length <= keep) return;
  let cut = data.subarray(data.length - keep);
  const nl = cut.indexOf(10);
  if (nl >= 0) cut = cut.subarray(nl + 1);
  writeFileSync(file, cut);
}
