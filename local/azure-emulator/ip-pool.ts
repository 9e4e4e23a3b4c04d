// Loopback addresses for container groups (127.0.0.2 upwards), leased machine-wide (lease-files.ts),
// so two emulators on one machine (parallel test files) never hand out the same address.
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseFiles } from './lease-files';

const LEASE_DIR = join(tmpdir(), 'aci-emulator-ip-leases');

const ADDRESSES: string[] = [];
for (let b = 0; b < 8; b++) {
  for (let c = b === 0 ? 2 : 1; c < 255; c++) ADDRESSES.push(`127.0.${b}.${c}`);
}

function portFree(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: ip, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export class IpPool {
  private readonly mine = new Set<string>();
  /** where the last search ended: the next starts after it (no rescan of a thousand leases each time) */
  private cursor = 0;

  private readonly leases: LeaseFiles;

  constructor(owner: string) {
    this.leases = new LeaseFiles(LEASE_DIR, owner);
  }

  /** Re-claim an address recorded in the data folder (emulator restart). */
  reclaim(ip: string): boolean {
    if (this.mine.has(ip)) return true;
    if (this.leases.take(ip, true)) {
      this.mine.add(ip);
      return true;
    }
    return false;
  }

  async allocate(ports: number[]): Promise<string> {
    // First only never-leased addresses; leases of dead emulators only when none is left, because a
    // crashed emulator re-adopts its groups (and their addresses) when it starts again.
    for (const pass of [false, true]) {
      const ip = await this.scan(ports, pass);
      if (ip) return ip;
    }
    throw new Error('no free loopback address left');
  }

  private async scan(ports: number[], takeOverDead: boolean): Promise<string | undefined> {
    for (let i = 0; i < ADDRESSES.length; i++) {
      const idx = (this.cursor + i) % ADDRESSES.length;
      const ip = ADDRESSES[idx] as string;
      if (this.mine.has(ip)) continue;
      if (!this.leases.take(ip, takeOverDead)) continue;
      let ok = true;
      for (const p of ports) {
        if (!(await portFree(ip, p))) {
          ok = false;
          break;
        }
      }
      if (ok) {
        this.mine.add(ip);
        this.cursor = (idx + 1) % ADDRESSES.length;
        return ip;
      }
      this.leases.drop(ip);
    }
    return undefined;
  }

  release(ip: string): void {
    if (this.mine.delete(ip)) this.leases.drop(ip);
  }

  releaseAll(): void {
    for (const ip of [...this.mine]) this.release(ip);
  }
}
