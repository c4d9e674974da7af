// Machine inventory for `meerkat info`. Two halves:
//  - plain: what the collector operator may see (OS, CPU, memory, disk sizes, interface names
//    and the PSEUDONYMS of their addresses, uptime, agent version and resource use, counts);
//  - sensitive: host name, user names, real addresses, MACs, mount points and devices - sealed
//    on the agent to the owner's box.pub (NaCl sealed box) and readable only with box.key.
// Without an installed box.pub the sensitive half is left out, never sent in the clear.
import { cpus, freemem, hostname, loadavg, networkInterfaces, release, totalmem, uptime, arch, platform } from 'node:os';
import { readFileSync, statfsSync } from 'node:fs';
import { sealToOwner } from '../../shared/commands/sealed-box.js';
import { parseUtmp } from './utmp.js';
import type { InventoryPlain, InventoryReport, InventorySensitive, LoginSession } from '../../shared/commands/agent-reports.js';

const REAL_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'vfat', 'exfat', 'ntfs', 'ntfs3', 'f2fs', 'jfs', 'reiserfs', 'hfsplus', 'apfs']);

export interface InventorySources {
  version: string;
  /** real address -> how the collector sees it ("X*" for a pseudonym, the address otherwise) */
  display: (address: string) => string;
  readText?: (path: string) => string;
  readBytes?: (path: string) => Uint8Array;
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function distro(read: (p: string) => string): string {
  const text = safe(() => read('/etc/os-release'), '');
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m?.[1] ?? '';
}

function disks(read: (p: string) => string): { plain: InventoryPlain['disks']; sensitive: InventorySensitive['disks'] } {
  const plain: InventoryPlain['disks'] = [];
  const sensitive: InventorySensitive['disks'] = [];
  const seen = new Set<string>();
  for (const line of safe(() => read('/proc/mounts'), '').split('\n')) {
    const [device, mountRaw, fsType] = line.split(' ');
    if (!device || !mountRaw || !fsType || !REAL_FS.has(fsType) || seen.has(device)) continue;
    seen.add(device);
    const mount = mountRaw.replace(/\\040/g, ' ');
    const st = safe(() => statfsSync(mount), null);
    if (!st) continue;
    plain.push({ fsType, sizeBytes: st.blocks * st.bsize, freeBytes: st.bavail * st.bsize });
    sensitive.push({ mount, device, fsType });
    if (plain.length >= 64) break;
  }
  return { plain, sensitive };
}

function accounts(read: (p: string) => string): string[] {
  const out: string[] = [];
  for (const line of safe(() => read('/etc/passwd'), '').split('\n')) {
    const f = line.split(':');
    const uid = Number(f[2]);
    // people, not system accounts
    if (f[0] && Number.isInteger(uid) && uid >= 1000 && uid < 65534) out.push(f[0]);
    if (out.length >= 256) break;
  }
  return out;
}

export function collectInventory(src: InventorySources): { plain: InventoryPlain; sensitive: InventorySensitive } {
  const readText = src.readText ?? ((p: string) => readFileSync(p, 'utf8'));
  const readBytes = src.readBytes ?? ((p: string) => readFileSync(p));
  const c = cpus();
  const d = disks(readText);
  const sessions = safe(() => parseUtmp(readBytes('/run/utmp')), [] as LoginSession[]);
  const accts = accounts(readText);
  const plainIfaces: InventoryPlain['interfaces'] = [];
  const sensIfaces: InventorySensitive['interfaces'] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (!addrs || addrs.every((a) => a.internal)) continue;
    const list = addrs.filter((a) => !a.internal);
    const pseudonyms = list.map((a) => src.display(a.address.split('%')[0]!)).filter((p) => p.endsWith('*'));
    plainIfaces.push({ name, ipv4: list.filter((a) => a.family === 'IPv4').length, ipv6: list.filter((a) => a.family === 'IPv6').length, pseudonyms });
    sensIfaces.push({ name, mac: list[0]?.mac ?? '', addresses: list.map((a) => a.cidr ?? a.address) });
  }
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    plain: {
      os: { platform: platform(), release: release(), distro: distro(readText), arch: arch() },
      cpu: { model: c[0]?.model ?? '', cores: c.length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) },
      memory: { totalBytes: totalmem(), freeBytes: freemem() },
      disks: d.plain,
      interfaces: plainIfaces,
      uptimeSec: Math.round(uptime()),
      users: { sessions: sessions.length, accounts: accts.length },
      agent: {
        version: src.version,
        uptimeSec: Math.round(process.uptime()),
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      },
    },
    sensitive: { hostname: hostname(), users: { sessions, accounts: accts }, interfaces: sensIfaces, disks: d.sensitive },
  };
}

/** The report sent to the collector: plain half as is, sensitive half sealed (or left out). */
export function buildInventoryReport(inv: { plain: InventoryPlain; sensitive: InventorySensitive }, ownerBoxPublicKey: Uint8Array | null, nowMs = Date.now()): InventoryReport {
  const base = { v: 1 as const, collectedAt: new Date(nowMs).toISOString(), plain: inv.plain };
  if (!ownerBoxPublicKey) {
    return { ...base, sealed: null, note: 'no owner box.pub installed on this agent: host name, users, addresses and MACs are not reported' };
  }
  return { ...base, sealed: sealToOwner(Buffer.from(JSON.stringify(inv.sensitive), 'utf8'), ownerBoxPublicKey) };
}
