// Append-only log of every certificate the CA issued (JSON lines, fsynced), so revoking an
// agent id can also list its certificate serials in the CRL.
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync } from 'node:fs';

export interface IssuanceRecord {
  agentId: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  kind: 'enroll' | 'renew';
}

export function appendIssuance(file: string, rec: IssuanceRecord): void {
  appendFileSync(file, JSON.stringify(rec) + '\n', { mode: 0o644 });
  const fd = openSync(file, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** All records; a torn last line (crash mid-append) is skipped. */
export function readIssuance(file: string): IssuanceRecord[] {
  if (!existsSync(file)) return [];
  const out: IssuanceRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    try {
      const r = JSON.parse(line) as IssuanceRecord;
      if (typeof r.agentId === 'string' && typeof r.serial === 'string') out.push(r);
    } catch { /* torn line */ }
  }
  return out;
}
