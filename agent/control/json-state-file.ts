// Small JSON state files of the control side (replay record, capture overrides): written
// atomically and durably (temp + fsync + rename + directory fsync), owner-only.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../spool/atomic-file.js';

export function saveJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  rmSync(tmp, { force: true }); // debris of a crashed process that had the same pid
  writeFileAtomic(file, tmp, Buffer.from(JSON.stringify(value), 'utf8'), 0o600);
}
