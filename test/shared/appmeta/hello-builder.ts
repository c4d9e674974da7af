// Test helper, not a test: builds TLS ClientHello/ServerHello handshake messages and TLS
// records from field lists, so tests can state a hello by what is in it (the JA4 spec's
// examples, GREASE, odd ALPNs) and the extractor tests can cut it into TCP segments.
export interface ClientHelloSpec {
  legacyVersion?: number;
  ciphers: number[];
  /** extension types in wire order; bodies come from the fields below or are empty */
  extensions: number[];
  serverName?: string;
  alpn?: (string | number[])[];
  supportedVersions?: number[];
  signatureAlgorithms?: number[];
  /** extra bytes in a padding extension (type 0x0015) if listed */
  padding?: number;
}

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const u24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const withLen16 = (b: number[]): number[] => [...u16(b.length), ...b];

function alpnBody(list: (string | number[])[]): number[] {
  const entries: number[] = [];
  for (const p of list) {
    const bytes = typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p;
    entries.push(bytes.length, ...bytes);
  }
  return withLen16(entries);
}

function extBody(type: number, s: ClientHelloSpec): number[] {
  switch (type) {
    case 0x0000: {
      const name = [...Buffer.from(s.serverName ?? 'example.com', 'latin1')];
      return withLen16([0, ...u16(name.length), ...name]);
    }
    case 0x0010: return alpnBody(s.alpn ?? []);
    case 0x002b: {
      const v = (s.supportedVersions ?? []).flatMap(u16);
      return [v.length, ...v];
    }
    case 0x000d: return withLen16((s.signatureAlgorithms ?? []).flatMap(u16));
    case 0x0015: return new Array<number>(s.padding ?? 0).fill(0);
    default: return [];
  }
}

export function clientHelloMessage(s: ClientHelloSpec): Uint8Array {
  const exts: number[] = [];
  for (const t of s.extensions) exts.push(...u16(t), ...withLen16(extBody(t, s)));
  const body = [
    ...u16(s.legacyVersion ?? 0x0303), ...new Array<number>(32).fill(7), 32, ...new Array<number>(32).fill(9),
    ...withLen16(s.ciphers.flatMap(u16)), 1, 0, ...withLen16(exts),
  ];
  return Uint8Array.from([1, ...u24(body.length), ...body]);
}

export interface ServerHelloSpec {
  legacyVersion?: number;
  cipher: number;
  extensions: number[];
  selectedVersion?: number;
  alpn?: string;
}

export function serverHelloMessage(s: ServerHelloSpec): Uint8Array {
  const exts: number[] = [];
  for (const t of s.extensions) {
    const b = t === 0x002b ? u16(s.selectedVersion ?? 0x0304) : t === 0x0010 ? alpnBody([s.alpn ?? 'h2']) : [];
    exts.push(...u16(t), ...withLen16(b));
  }
  const body = [...u16(s.legacyVersion ?? 0x0303), ...new Array<number>(32).fill(3), 0, ...u16(s.cipher), 0, ...withLen16(exts)];
  return Uint8Array.from([2, ...u24(body.length), ...body]);
}

/** The message in TLS handshake records of at most `maxFragment` bytes each. */
export function tlsRecords(msg: Uint8Array, maxFragment = 16384): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < msg.length; i += maxFragment) {
    const frag = msg.subarray(i, Math.min(msg.length, i + maxFragment));
    out.push(22, 3, 1, ...u16(frag.length), ...frag);
  }
  return Uint8Array.from(out);
}

/** The JA4 specification's example hello (JA4.md "Example": t13d1516h2_8daaf6152771_e5627efa2ab1), GREASE added. */
export const SPEC_EXAMPLE: ClientHelloSpec = {
  ciphers: [0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035],
  extensions: [0x0a0a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xfafa],
  serverName: 'example.com',
  alpn: ['h2', 'http/1.1'],
  supportedVersions: [0x5a5a, 0x0304, 0x0303],
  signatureAlgorithms: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
};
