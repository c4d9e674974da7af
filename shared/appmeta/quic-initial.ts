// QUIC Initial packets opened with their public keys: the keys derive from the client's
// first Destination Connection ID and a salt each version publishes (RFC 9001 section 5.2,
// QUIC v1; RFC 9369 section 3.3, QUIC v2), so any observer can read the CRYPTO frames, i.e.
// the TLS ClientHello with its server name. Steps (RFC 9001 section 5): HKDF for the
// secrets, AES-128-ECB on a sample of the ciphertext for the header protection mask, then
// AES-128-GCM (tag checked: junk is refused) over the payload, then the frames.
// Pure apart from node:crypto; never throws on hostile bytes; each datagram is read once,
// with at most MAX_PACKETS coalesced packets.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { ByteReader, ShortInput } from './byte-reader.js';

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

interface VersionParams {
  salt: Buffer;
  /** label prefix: "quic " (v1) or "quicv2 " (v2) */
  labels: string;
  /** long header packet type of Initial packets */
  initialType: number;
}

const VERSIONS = new Map<number, VersionParams>([
  [QUIC_V1, { salt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'), labels: 'quic ', initialType: 0 }],
  [QUIC_V2, { salt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'), labels: 'quicv2 ', initialType: 1 }],
]);

/** a client Initial datagram is at least this long (RFC 9000 section 14.1) */
export const MIN_CLIENT_INITIAL = 1200;
const MAX_PACKETS = 4;
const MAX_FRAMES = 64;
const MAX_CID = 20;

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

export interface CryptoFrame {
  /** offset in the CRYPTO stream */
  offset: number;
  data: Uint8Array;
}

export interface ClientInitial {
  version: number;
  /** the Destination Connection ID the keys came from */
  dcid: Uint8Array;
  scid: Uint8Array;
  /** CRYPTO frames of every Initial packet of the datagram, in packet order */
  crypto: CryptoFrame[];
}

/** HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context; length <= 32 (one HMAC block). */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const full = Buffer.from('tls13 ' + label, 'latin1');
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  full.copy(info, 3);
  info[3 + full.length] = 0; // context length
  info[info.length - 1] = 1; // HKDF-Expand block counter T(1)
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

/** The client's Initial keys for a version and a Destination Connection ID; null for a version without public keys. */
export function clientInitialKeys(version: number, dcid: Uint8Array): InitialKeys | null {
  const p = VERSIONS.get(version);
  if (p === undefined) return null;
  const initialSecret = createHmac('sha256', p.salt).update(dcid).digest();
  const client = hkdfExpandLabel(initialSecret, 'client in', 32);
  return {
    key: hkdfExpandLabel(client, p.labels + 'key', 16),
    iv: hkdfExpandLabel(client, p.labels + 'iv', 12),
    hp: hkdfExpandLabel(client, p.labels + 'hp', 16),
  };
}

/** Whether bytes could start a client Initial of a version with public keys: a cheap test per UDP payload. */
export function looksLikeClientInitial(b: Uint8Array, off: number, len: number): boolean {
  if (len < MIN_CLIENT_INITIAL || (b[off]! & 0x80) === 0) return false;
  const version = ((b[off + 1]! << 24) | (b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!) >>> 0;
  const p = VERSIONS.get(version);
  return p !== undefined && ((b[off]! >> 4) & 3) === p.initialType;
}

/** Frames of a decrypted Initial payload: CRYPTO frames are collected; stops at a frame type Initial packets may not carry. */
function readFrames(plain: Uint8Array, out: CryptoFrame[]): void {
  const r = new ByteReader(plain);
  // every frame consumes at least one byte: the loop is linear in the payload
  while (r.left > 0) {
    const type = r.varint();
    if (type === 0x00 || type === 0x01) continue; // PADDING, PING
    if (type === 0x02 || type === 0x03) { // ACK
      r.varint(); r.varint();
      const ranges = r.varint();
      r.varint();
      if (ranges > 256) return;
      for (let i = 0; i < ranges; i++) { r.varint(); r.varint(); }
      if (type === 0x03) { r.varint(); r.varint(); r.varint(); }
    } else if (type === 0x06) { // CRYPTO
      const offset = r.varint();
      const data = r.bytes(r.varint());
      if (out.length < MAX_FRAMES) out.push({ offset, data });
    } else if (type === 0x1c) { // CONNECTION_CLOSE
      r.varint(); r.varint();
      r.skip(r.varint());
    } else {
      return;
    }
  }
}

/**
 * Decrypts one long-header Initial packet at r.pos (the reader is left after the packet).
 * Returns false when it is not one this function can open.
 */
function openInitial(r: ByteReader, keysFor: (version: number, dcid: Uint8Array) => InitialKeys | null, acc: { c: ClientInitial | null }): boolean {
  const b = r.b;
  const start = r.pos;
  const first = r.u8();
  if ((first & 0x80) === 0) return false;
  const version = r.u32();
  const p = VERSIONS.get(version);
  if (p === undefined) return false;
  const dcid = r.bytes(r.u8());
  const scid = r.bytes(r.u8());
  if (dcid.length > MAX_CID || scid.length > MAX_CID) return false;
  const type = (first >> 4) & 3;
  if (type === (p.initialType + 3) % 4) return false; // Retry: no length field, nothing to read
  if (type === p.initialType) r.skip(r.varint()); // token
  const length = r.varint();
  const pnOff = r.pos;
  r.skip(length);
  const end = r.pos;
  if (type !== p.initialType) return true; // Handshake / 0-RTT coalesced behind: skipped
  if (acc.c !== null && (acc.c.version !== version || !sameBytes(acc.c.dcid, dcid))) return true;
  if (pnOff + 4 + 16 > end) return false;
  const keys = keysFor(version, dcid);
  if (keys === null) return false;
  // header protection (RFC 9001 section 5.4): mask from AES-ECB(hp, sample)
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null);
  const mask = ecb.update(b.subarray(pnOff + 4, pnOff + 20));
  const firstPlain = first ^ (mask[0]! & 0x0f);
  const pnLen = (firstPlain & 3) + 1;
  const header = Buffer.from(b.subarray(start, pnOff + pnLen));
  header[0] = firstPlain;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) {
    const v = b[pnOff + i]! ^ mask[1 + i]!;
    header[pnOff - start + i] = v;
    pn = pn * 256 + v;
  }
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[11 - i]! ^= (pn >>> (8 * i)) & 0xff;
  const ctStart = pnOff + pnLen;
  if (end - 16 < ctStart) return false;
  let plain: Buffer;
  try {
    const gcm = createDecipheriv('aes-128-gcm', keys.key, nonce);
    gcm.setAAD(header);
    gcm.setAuthTag(b.subarray(end - 16, end));
    plain = Buffer.concat([gcm.update(b.subarray(ctStart, end - 16)), gcm.final()]);
  } catch {
    return false; // authentication failed: not a packet with these keys
  }
  if (acc.c === null) acc.c = { version, dcid: Uint8Array.from(dcid), scid: Uint8Array.from(scid), crypto: [] };
  readFrames(plain, acc.c.crypto);
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The CRYPTO frames of the client Initial packets in one UDP datagram, or null when the
 * datagram holds none that opens. `keysFor` may cache keys per (version, DCID); by default
 * they are derived for each call.
 */
export function readClientInitials(
  datagram: Uint8Array,
  keysFor: (version: number, dcid: Uint8Array) => InitialKeys | null = clientInitialKeys,
): ClientInitial | null {
  const acc: { c: ClientInitial | null } = { c: null };
  const r = new ByteReader(datagram);
  try {
    for (let i = 0; i < MAX_PACKETS && r.left > 0; i++) {
      if (!openInitial(r, keysFor, acc)) break;
    }
  } catch (e) {
    if (!(e instanceof ShortInput)) throw e;
  }
  return acc.c;
}
