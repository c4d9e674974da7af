// Typed access to the `cap` npm package (a libpcap/Npcap binding with no type definitions).
// Loaded lazily, so modules that only replay files never need libpcap. What `cap` does and
// does not do (measured): docs/capture.md, "The cap binding".
import { createRequire } from 'node:module';

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

/** One libpcap handle. `open` returns the link type name ("ETHERNET", "LINKTYPE_LINUX_SLL", ...). */
export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', cb: (nbytes: number, truncated: boolean) => void): this;
  removeAllListeners(event?: string): this;
  setMinBytes?: (n: number) => void;
}

interface CapModule {
  Cap: (new () => CapHandle) & { deviceList(): CapDevice[]; findDevice(ip?: string): string | undefined };
}

export class CaptureUnavailableError extends Error {
  constructor(cause: string) {
    super(`live capture is unavailable: the cap (libpcap) binding failed to load: ${cause}`);
    this.name = 'CaptureUnavailableError';
  }
}

let mod: CapModule | undefined;

function capModule(): CapModule {
  if (!mod) {
    try {
      mod = createRequire(import.meta.url)('cap') as CapModule;
    } catch (e) {
      throw new CaptureUnavailableError((e as Error).message);
    }
  }
  return mod;
}

export function newCapHandle(): CapHandle {
  return new (capModule().Cap)();
}

/** libpcap's device list (pcap_findalldevs). */
export function listCapDevices(): CapDevice[] {
  return capModule().Cap.deviceList();
}
