// Timed parts of an interdiction policy: dropping what has expired, and when the next part
// will. The interdiction manager ticks with these. Pure (time is an argument).
import { clonePolicy, type InterdictionPolicy } from './policy.js';

/** What expired, for the log / command results. */
export interface ExpiredPart {
  kind: 'isolate' | 'block' | 'degrade';
  peer?: string;
  expiresAt: number;
}

/** Drops every part whose expiry is at or before nowMs. */
export function expirePolicy(policy: InterdictionPolicy, nowMs: number): { policy: InterdictionPolicy; expired: ExpiredPart[] } {
  const expired: ExpiredPart[] = [];
  const p = clonePolicy(policy);
  if (p.mode === 'isolate' && p.isolateExpiresAt !== undefined && p.isolateExpiresAt <= nowMs) {
    expired.push({ kind: 'isolate', expiresAt: p.isolateExpiresAt });
    p.mode = 'none';
    p.allow = [];
    delete p.isolateExpiresAt;
  }
  p.blocks = p.blocks.filter((b) => {
    if (b.expiresAt !== undefined && b.expiresAt <= nowMs) { expired.push({ kind: 'block', peer: b.peer, expiresAt: b.expiresAt }); return false; }
    return true;
  });
  p.degrade = p.degrade.filter((d) => {
    if (d.expiresAt !== undefined && d.expiresAt <= nowMs) {
      expired.push(d.peer === undefined ? { kind: 'degrade', expiresAt: d.expiresAt } : { kind: 'degrade', peer: d.peer, expiresAt: d.expiresAt });
      return false;
    }
    return true;
  });
  return { policy: p, expired };
}

/** The earliest expiry in the policy (ms since the epoch), if any part is timed. */
export function nextExpiry(p: InterdictionPolicy): number | undefined {
  let next: number | undefined;
  const see = (t: number | undefined): void => { if (t !== undefined && (next === undefined || t < next)) next = t; };
  if (p.mode === 'isolate') see(p.isolateExpiresAt);
  for (const b of p.blocks) see(b.expiresAt);
  for (const d of p.degrade) see(d.expiresAt);
  return next;
}
