// Who is logged in, from the utmp file (/run/utmp on Linux/glibc): fixed 384-byte records of
// struct utmp. Layout (x86-64 and aarch64 glibc; 32-bit time fields for compatibility):
//   0 i16 ut_type (+2 pad) | 4 i32 ut_pid | 8 char[32] ut_line | 40 char[4] ut_id
//   44 char[32] ut_user | 76 char[256] ut_host | 332 i16x2 ut_exit | 336 i32 ut_session
//   340 i32 tv_sec | 344 i32 tv_usec | 348 i32[4] ut_addr_v6 | 364 char[20] unused
// Only USER_PROCESS (7) records are sessions. Pure; hostile or truncated input yields fewer
// sessions, never an exception.
import type { LoginSession } from '../../shared/commands/agent-reports.js';

export const UTMP_RECORD_SIZE = 384;
export const USER_PROCESS = 7;
/** more sessions than this in one utmp file is not plausible; stop there */
const MAX_SESSIONS = 1024;

function cString(buf: Uint8Array, off: number, len: number): string {
  let end = off;
  const stop = off + len;
  while (end < stop && buf[end] !== 0) end++;
  // printable ASCII only: names from a damaged file must not carry control characters into reports
  let s = '';
  for (let i = off; i < end; i++) {
    const c = buf[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

export function parseUtmp(buf: Uint8Array): LoginSession[] {
  const out: LoginSession[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0; off + UTMP_RECORD_SIZE <= buf.length && out.length < MAX_SESSIONS; off += UTMP_RECORD_SIZE) {
    if (view.getInt16(off, true) !== USER_PROCESS) continue;
    const user = cString(buf, off + 44, 32);
    if (user === '') continue;
    out.push({
      user,
      line: cString(buf, off + 8, 32),
      host: cString(buf, off + 76, 256),
      sinceMs: view.getInt32(off + 340, true) * 1000 + Math.floor(view.getInt32(off + 344, true) / 1000),
    });
  }
  return out;
}
