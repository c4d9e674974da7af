// Which network interfaces exist and which of them a per-interface capture should open.
// selectCaptureInterfaces is pure (tested with fixtures); the readers at the bottom do the
// I/O: /sys/class/net on Linux, libpcap's device list elsewhere (Windows/Npcap).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { listCapDevices } from './cap-binding.js';

export interface InterfaceInfo {
  name: string;
  /** administratively up (IFF_UP) */
  up: boolean;
  /** carrier present / operational (IFF_RUNNING); tun/wg report it once configured */
  running: boolean;
  loopback: boolean;
  /** ARPHRD_* (Linux); 1 Ethernet, 772 loopback, 65534 none (tun, wg), 512 PPP; -1 unknown */
  arpType: number;
  /** MAC address, lower case, '' when the interface has none */
  mac: string;
  /** enslaved to a bridge or bond: its traffic is captured on the master, not here */
  enslaved: boolean;
}

/** ARPHRD types never opened by 'all': monitor-mode radio headers and CAN buses are not IP links. */
const SKIPPED_ARP_TYPES = new Set([280 /* CAN */, 803 /* IEEE 802.11 radiotap */, 801 /* 802.11 */, 802 /* prism */]);

/**
 * Interfaces a per-interface capture opens. 'all': every interface that is up and running,
 * tunnels included (tun*, wg*, ppp*), except loopback (unless includeLoopback), bridge/bond
 * members (their frames show up on the master) and non-IP link types. A list: those names,
 * in the given order, when they exist and are up.
 */
export function selectCaptureInterfaces(ifaces: readonly InterfaceInfo[], spec: 'all' | readonly string[], includeLoopback = false): string[] {
  if (spec !== 'all') {
    const byName = new Map(ifaces.map((i) => [i.name, i]));
    return spec.filter((n) => byName.get(n)?.up === true);
  }
  return ifaces
    .filter((i) => i.up && i.running && !i.enslaved && !SKIPPED_ARP_TYPES.has(i.arpType) && (includeLoopback || !i.loopback))
    .map((i) => i.name);
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_RUNNING = 0x40;
const IFF_SLAVE = 0x800;

function readSys(dir: string, file: string): string {
  try {
    return readFileSync(`${dir}/${file}`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Linux: every interface in /sys/class/net (of this network namespace). */
export function readLinuxInterfaces(root = '/sys/class/net'): InterfaceInfo[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: InterfaceInfo[] = [];
  for (const name of names.sort()) {
    const dir = `${root}/${name}`;
    const flags = parseInt(readSys(dir, 'flags'), 16);
    if (!Number.isFinite(flags)) continue;
    const type = Number(readSys(dir, 'type'));
    const mac = readSys(dir, 'address').toLowerCase();
    out.push({
      name,
      up: (flags & IFF_UP) !== 0,
      running: (flags & IFF_RUNNING) !== 0,
      loopback: (flags & IFF_LOOPBACK) !== 0,
      arpType: Number.isFinite(type) ? type : -1,
      mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && mac !== '00:00:00:00:00:00' ? mac : '',
      enslaved: (flags & IFF_SLAVE) !== 0 || existsSync(`${dir}/brport`),
    });
  }
  return out;
}

/**
 * Other systems: libpcap's device list. Npcap lists only adapters it can open; an adapter
 * with no address is treated as down (disconnected), which is what Windows reports.
 */
function readPcapInterfaces(): InterfaceInfo[] {
  return listCapDevices().map((d) => {
    const loopback = d.flags === 'PCAP_IF_LOOPBACK';
    const up = d.addresses.length > 0;
    return { name: d.name, up, running: up, loopback, arpType: -1, mac: '', enslaved: false };
  });
}

export function readInterfaces(): InterfaceInfo[] {
  return process.platform === 'linux' ? readLinuxInterfaces() : readPcapInterfaces();
}
