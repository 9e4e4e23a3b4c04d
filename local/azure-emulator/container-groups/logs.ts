// Container logs: output goes to a raw file (it survives an emulator crash); a poller moves it into a
// timestamped log (a line's time = when first seen), trimmed to what ACI keeps.
import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { HttpError } from '../http-util';
import { LOG_LIMIT_BYTES, now, type GroupRecord } from './model';
import type { GroupStore } from './store';

const RAW_ROTATE_BYTES = 1024 * 1024;

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
      if (size < rt.rawOffset) rt.rawOffset = 0;
      if (size === rt.rawOffset) return;
      const buf = Buffer.alloc(size - rt.rawOffset);
      readSync(fd, buf, 0, buf.length, rt.rawOffset);
      let text = buf.toString('utf8');
      let consumed = buf.length;
      const lastNl = text.lastIndexOf('\n');
      if (!final && lastNl < text.length - 1 && buf.length < 64 * 1024) {
        // Keep a partial last line for the next round.
        consumed = Buffer.byteLength(text.slice(0, lastNl + 1));
        text = text.slice(0, lastNl + 1);
      }
      if (text) {
        const t = now();
        const lines = text.replace(/\n$/, '').split('\n');
        appendFileSync(this.store.logFile(g, c), lines.map((l) => `${t} ${l}\n`).join(''));
      }
      rt.rawOffset += consumed;
      // Persist the offset now and then (not per line: hundreds of chatty groups would mean hundreds
      // of record writes a second), so a re-adopting run stamps at most a few seconds twice.
      if (consumed > 0) this.offsetsDirty.add(g.key);
      if (rt.rawOffset >= RAW_ROTATE_BYTES && rt.rawOffset === size) {
        truncateSync(raw, 0);
        rt.rawOffset = 0;
      }
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
