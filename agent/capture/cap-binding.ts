// Typed access to the `cap` npm package (a libpcap/Npcap binding with no type definitions; on
// Windows the package carries its Node-API twin, installer/windows/capture/). Loaded lazily, so
// `--version`, `enroll` and `replay` never need libpcap or Npcap. What `cap` does and
// does not do (measured): docs/capture.md, "The cap binding".
import { createRequire } from 'node:module';
import { MeerkatError } from '../../shared/errors.js';

export interface CapDeviceAddress {
  addr?: string;
  netmask?: string;
  broadaddr?: string;
  dstaddr?: string;
}

export interface CapDevice {
  name: string;
  description?: string;
  addresses: CapDeviceAddress[];
  /** 'PCAP_IF_LOOPBACK' for loopback devices */
  flags?: string;
}

/** libpcap's counters for one handle (pcap_stats), cumulative since open. */
export interface CapStats {
  /** packets that passed the filter (Linux: the kernel's tp_packets, drops included) */
  received: number;
  /** packets the kernel dropped because the ring was full */
  dropped: number;
  /** packets the interface dropped (where the platform knows) */
  ifDropped: number;
}

/**
 * One libpcap handle of the patched binding (patches/README.md). `open` returns the link
 * type name ("ETHERNET", "LINKTYPE_LINUX_SLL", ...). With `batch`, 'packets' events carry
 * (bytes used, record count) of the buffer; 'error' reports a failed handle. `holdMs` and
 * `holdPackets` (Linux): after a drain of fewer than holdPackets packets the handle waits
 * holdMs before it drains again, instead of waking at the next packet (0: never waits).
 */
export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer, snapLen: number, promiscuous: boolean, batch: boolean, holdMs?: number, holdPackets?: number): string;
  close(): boolean;
  stats(): CapStats;
  /** delivers what the ring holds now, synchronously */
  flush(): void;
  on(event: 'packets', cb: (used: number, count: number) => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
  removeAllListeners(event?: string): this;
  setMinBytes?: (n: number) => void;
}

/** the revision of patches/cap-0.2.1.patch this code speaks to */
const CAP_PATCH_REVISION = 'meerkat-cap-patch-6';

/** What trimStartupPages() unmapped: mappings, and their resident bytes just before. */
export interface CapTrimResult {
  mappings: number;
  bytes: number;
  /** eligible mappings left mapped because `keep` asked for it, and their resident bytes (revision 6) */
  keptMappings?: number;
  keptBytes?: number;
}

/** What the trim leaves mapped (patch revision 6; the Windows twin applies the same rule). */
export interface CapTrimKeep {
  /** leave every executable mapping (code) mapped */
  keepExecutable?: boolean;
  /** leave the mappings of files whose path contains one of these mapped */
  keepPaths?: string[];
}

interface CapModule {
  meerkatPatch?: string;
  /** Linux (and the Windows twin): drop start-up-only file pages from the working set */
  trimStartupPages?: (keep?: CapTrimKeep) => CapTrimResult;
  Cap: (new () => CapHandle) & { deviceList(): CapDevice[]; findDevice(ip?: string): string | undefined };
}

export class CaptureUnavailableError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CAPTURE_UNAVAILABLE';
  constructor(cause: string) {
    super(`live capture is unavailable: the cap (libpcap) binding failed to load: ${cause}`);
    this.name = 'CaptureUnavailableError';
  }
}

let mod: CapModule | undefined;

/**
 * Windows: Npcap installs wpcap.dll in System32\Npcap, outside the DLL search path (unless
 * installed in its WinPcap-compatible mode); the binding's import of it resolves through PATH.
 */
function addNpcapToPath(): void {
  const npcap = `${process.env.SystemRoot ?? 'C:\\Windows'}\\System32\\Npcap`;
  const path = process.env.PATH ?? '';
  if (!path.toLowerCase().split(';').includes(npcap.toLowerCase())) process.env.PATH = `${npcap};${path}`;
}

function capModule(): CapModule {
  if (!mod) {
    if (process.platform === 'win32') addNpcapToPath();
    try {
      mod = createRequire(import.meta.url)('cap') as CapModule;
    } catch (e) {
      const hint = process.platform === 'win32' ? ' (is Npcap installed? https://npcap.com)' : '';
      throw new CaptureUnavailableError(`${(e as Error).message}${hint}`);
    }
    if (mod.meerkatPatch !== CAP_PATCH_REVISION) {
      const found = mod.meerkatPatch ?? 'none';
      mod = undefined;
      throw new CaptureUnavailableError(`the installed cap addon has patch revision ${found}, this agent needs ${CAP_PATCH_REVISION} (run: node scripts/patch-cap.mjs)`);
    }
  }
  return mod;
}

export function newCapHandle(): CapHandle {
  return new (capModule().Cap)();
}

/**
 * The addon's working-set trim (patch revisions 5-6), or undefined where this platform's addon
 * has none. Loads the addon (throws CaptureUnavailableError like every other entry here).
 */
export function capTrimStartupPages(): ((keep?: CapTrimKeep) => CapTrimResult) | undefined {
  const m = capModule();
  return typeof m.trimStartupPages === 'function' ? m.trimStartupPages.bind(m) : undefined;
}

/** libpcap's device list (pcap_findalldevs). */
export function listCapDevices(): CapDevice[] {
  return capModule().Cap.deviceList();
}
