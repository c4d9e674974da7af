// The revocation list the collector enforces: revoked agent ids and certificate serials,
// persisted as JSON signed by the CA key (so a file edited by hand, or replaced, is
// refused rather than silently trusted). Lookups are O(1) on every connect.
import { X509Certificate, sign, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { CertificateAuthority } from './certificate-authority.js';
import { RevocationListError } from './errors.js';
import { KeyFileError } from '../shared/keys/key-file-error.js';
import { PUBLIC_MODE, writeFileAtomic } from './pem-files.js';
import { normalizeSerial } from './serial-number.js';

export interface RevocationEntry {
  agentId: string;
  /** hex serials of every certificate issued to the agent when it was revoked */
  serials: string[];
  revokedAt: string;
  reason: string;
}

export interface RevocationListData {
  version: 1;
  /** increases with every change; also the CRL number */
  crlNumber: number;
  updatedAt: string;
  entries: RevocationEntry[];
}

interface SignedFile extends RevocationListData {
  /** base64 RSA-SHA256 by the CA key over canonicalBytes(data) */
  signature: string;
}

export function emptyRevocationData(): RevocationListData {
  return { version: 1, crlNumber: 1, updatedAt: new Date().toISOString(), entries: [] };
}

/** Deterministic bytes to sign: the data fields in a fixed order. */
function canonicalBytes(d: RevocationListData): Buffer {
  const entries = d.entries.map((e) => ({ agentId: e.agentId, serials: [...e.serials], revokedAt: e.revokedAt, reason: e.reason }));
  return Buffer.from(JSON.stringify({ version: d.version, crlNumber: d.crlNumber, updatedAt: d.updatedAt, entries }), 'utf8');
}

export function saveRevocationList(file: string, ca: CertificateAuthority, data: RevocationListData): void {
  const signature = sign('sha256', canonicalBytes(data), ca.key).toString('base64');
  const out: SignedFile = { ...data, signature };
  writeFileAtomic(file, JSON.stringify(out, null, 2) + '\n', PUBLIC_MODE);
}

export class RevocationList {
  readonly data: RevocationListData;
  private readonly agentIds: Set<string>;
  private readonly serials: Set<string>;

  constructor(data: RevocationListData) {
    this.data = data;
    this.agentIds = new Set(data.entries.map((e) => e.agentId));
    this.serials = new Set(data.entries.flatMap((e) => e.serials.map(normalizeSerial)));
  }

  /** Reads and verifies the signed list; a missing or tampered file is an error (fail closed). */
  static load(file: string, caCertPem: string): RevocationList {
    if (!existsSync(file)) throw new KeyFileError(file, 'expected the signed revocation list (file does not exist; `meerkat-collector init` creates it)');
    let parsed: SignedFile;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as SignedFile;
    } catch (e) {
      throw new RevocationListError(file, `JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!parsed || parsed.version !== 1 || !Array.isArray(parsed.entries) || typeof parsed.signature !== 'string' || typeof parsed.crlNumber !== 'number') {
      throw new RevocationListError(file, 'a version 1 revocation list with entries, crlNumber and signature');
    }
    for (const e of parsed.entries) {
      if (typeof e?.agentId !== 'string' || !Array.isArray(e.serials) || !e.serials.every((s) => typeof s === 'string')) {
        throw new RevocationListError(file, 'entries of the form {agentId, serials[], revokedAt, reason}');
      }
    }
    const data: RevocationListData = { version: 1, crlNumber: parsed.crlNumber, updatedAt: parsed.updatedAt, entries: parsed.entries };
    const pub = new X509Certificate(caCertPem).publicKey;
    if (!verify('sha256', canonicalBytes(data), pub, Buffer.from(parsed.signature, 'base64'))) {
      throw new RevocationListError(file, 'a signature by the CA key (the signature does not verify: file altered or from another CA)');
    }
    return new RevocationList(data);
  }

  isRevoked(agentId: string, serialHex: string): boolean {
    return this.agentIds.has(agentId) || this.serials.has(normalizeSerial(serialHex));
  }

  isAgentRevoked(agentId: string): boolean {
    return this.agentIds.has(agentId);
  }

  get size(): number {
    return this.data.entries.length;
  }

  /** The data with one more revoked agent (or its serial list extended), crlNumber bumped. */
  withRevoked(agentId: string, serials: readonly string[], reason: string, now = new Date()): RevocationListData {
    const entries = this.data.entries.map((e) => ({ ...e, serials: [...e.serials] }));
    const existing = entries.find((e) => e.agentId === agentId);
    if (existing) {
      for (const s of serials) if (!existing.serials.includes(s)) existing.serials.push(s);
    } else {
      entries.push({ agentId, serials: [...serials], revokedAt: now.toISOString(), reason });
    }
    return { version: 1, crlNumber: this.data.crlNumber + 1, updatedAt: now.toISOString(), entries };
  }
}
