// An interdiction policy as text: one line per active part, for logs and command results.
// Pure (time is an argument).
import type { InterdictionPolicy } from './policy.js';

export function describePolicy(p: InterdictionPolicy, nowMs: number): string[] {
  const left = (t: number | undefined): string => (t === undefined ? '' : ` (${Math.max(0, Math.ceil((t - nowMs) / 1000))} s left)`);
  const lines: string[] = [];
  if (p.mode === 'isolate') lines.push(`isolate; allowed: ${p.allow.length > 0 ? p.allow.join(', ') : 'none'}${left(p.isolateExpiresAt)}`);
  for (const b of p.blocks) lines.push(`block ${b.peer}${left(b.expiresAt)}`);
  for (const d of p.degrade) {
    const what = [d.rateBytesPerSec !== undefined ? `rate ${d.rateBytesPerSec} B/s` : '', d.lossPercent !== undefined ? `loss ${d.lossPercent}%` : ''].filter(Boolean).join(', ');
    lines.push(`degrade ${d.peer ?? 'all'}: ${what}${left(d.expiresAt)}`);
  }
  for (const c of p.managementChannels) lines.push(`management channel ${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`);
  return lines;
}
