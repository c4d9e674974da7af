// `meerkat agents [--json]`: every agent the collector knows - online or not, last seen,
// software version, capture and spool health, shipping and interdiction state - from the
// agents' heartbeats (kept by the collector across its restarts).
import type { Command } from 'commander';
import type { AgentView } from '../../shared/commands/admin-views.js';
import { deanonFilter, deanonOptions } from '../deanon-text.js';
import { clientFrom, remoteOptions, type RemoteFlags } from './remote-command.js';

export interface AgentListEntry extends AgentView {
  /** packet payload the collector keeps for this agent (GET /v1/pcap/usage), when it has any */
  payload?: { dumps: number; bytes: number; retroDumps: number; retroBytes: number; oldestUs: number | null };
}

function ago(iso: string | null, nowMs: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

function num(v: unknown): string {
  return typeof v === 'number' ? String(v) : '-';
}

function bytes(v: unknown): string {
  if (typeof v !== 'number') return '-';
  if (v < 1024) return `${v} B`;
  if (v < 1024 ** 2) return `${(v / 1024).toFixed(1)} KiB`;
  if (v < 1024 ** 3) return `${(v / 1024 ** 2).toFixed(1)} MiB`;
  return `${(v / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * The readable block per agent. Online, the state lines are what the agent runs with now
 * (its heartbeat, updated by every command it carried out since); offline they are the last
 * known figures, labelled so, never a state it may no longer be in. Commands sent but not
 * answered are listed as pending: they are not in force yet.
 */
export function agentText(a: AgentListEntry, nowMs = Date.now()): string {
  const h = a.health ?? {};
  const control = (h.control ?? {}) as { snapLen?: number; capture?: string; shipping?: string; peerCapture?: unknown[] };
  const inter = (h.interdiction ?? {}) as { mode?: string; active?: string[]; unavailable?: string };
  const status = a.revoked ? 'REVOKED' : a.online ? 'ONLINE' : 'offline';
  const lines = [
    `${a.agentId}  ${status}  last seen ${a.online ? 'now' : ago(a.lastSeen, nowMs)}  version ${a.version ?? '?'}`,
  ];
  if (a.revoked) lines.push('  revoked: its certificates are refused; it cannot connect until it enrolls again');
  if (a.health && !a.online) lines.push(`  last known (heartbeat ${ago(a.lastSeen, nowMs)}): ${num(h.packetsCaptured)} packets seen, ${num(h.packetsKept)} kept, ${num(h.dumpsWritten)} dumps; ${num(h.spoolFiles)} dumps were waiting in its spool`);
  if (a.health && a.online) {
    lines.push(`  capture: ${control.capture ?? '?'}, ${num(h.packetsCaptured)} packets seen, ${num(h.packetsKept)} kept, ${num(h.packetsIfDropped ?? h.packetsDropped)} dropped, ${num(h.dumpsWritten)} dumps, snap length ${num(control.snapLen)}${control.peerCapture?.length ? `, ${control.peerCapture.length} targeted` : ''}`);
    lines.push(`  spool: ${num(h.spoolFiles)} dumps, ${bytes(h.spoolBytes)}, ${num(h.spoolDropped)} dropped; shipping: ${control.shipping ?? '?'}`);
    lines.push(`  agent: cpu ${num(h.cpuPercent)}%, rss ${bytes(h.rssBytes)}, up ${num(h.uptimeSec)} s`);
    const retro = (h.retro ?? null) as { enabled?: boolean; bytes?: number; seconds?: number } | null;
    if (retro?.enabled) lines.push(`  retro ring: ${bytes(retro.bytes)} on the agent's disk, ${num(retro.seconds)} s of packets`);
    const active = (inter.active ?? []).filter((l) => !l.startsWith('management'));
    if (inter.unavailable) lines.push(`  interdiction: unavailable (${inter.unavailable})`);
    else lines.push(`  interdiction: ${active.length ? active.join('; ') : 'none'}`);
  } else if (a.health && (inter.active ?? []).some((l) => !l.startsWith('management'))) {
    lines.push(`  interdiction at the last heartbeat: ${(inter.active ?? []).filter((l) => !l.startsWith('management')).join('; ')}`);
  } else if (!a.health) {
    lines.push('  no heartbeat yet');
  }
  for (const c of a.pendingCommands ?? []) {
    lines.push(`  pending: ${c.kind} (command ${c.id}, ${c.state === 'queued' ? 'waiting for the agent' : 'sent, not answered yet'} since ${ago(c.createdAt, nowMs)}): not in force yet`);
  }
  const p = a.payload;
  lines.push(p ? `  payload kept on the collector: ${bytes(p.bytes)} in ${p.dumps} dumps (retro ${bytes(p.retroBytes)})${p.oldestUs ? `, since ${new Date(p.oldestUs / 1000).toISOString()}` : ''}` : '  payload kept on the collector: none');
  return lines.join('\n') + '\n';
}

export function registerAgentsCommand(program: Command): void {
  deanonOptions(remoteOptions(program
    .command('agents')
    .description('list agents: online, offline or revoked, last seen, version, capture, spool, interdiction, commands not answered yet'), { wait: false }))
    .action(async (f: RemoteFlags & { deanon?: boolean; ownerKeys?: string }) => {
      const client = clientFrom(f);
      const { agents } = await client.get<{ agents: AgentListEntry[] }>(client.scoped('/agents'));
      // payload usage from the collector's store (older collectors have no such endpoint)
      const usage = await client.get<{ agents: ({ agentId: string } & NonNullable<AgentListEntry['payload']>)[] }>(client.scoped('/pcap/usage')).catch(() => null);
      for (const a of agents) {
        const u = usage?.agents.find((x) => x.agentId === a.agentId);
        if (u) a.payload = { dumps: u.dumps, bytes: u.bytes, retroDumps: u.retroDumps, retroBytes: u.retroBytes, oldestUs: u.oldestUs };
      }
      if (f.json) {
        for (const a of agents) process.stdout.write(JSON.stringify(a) + '\n');
        return;
      }
      const deanon = deanonFilter(f.deanon, f.ownerKeys);
      if (agents.length === 0) process.stdout.write('no agents yet\n');
      for (const a of agents) process.stdout.write(deanon(agentText(a)));
    });
}
