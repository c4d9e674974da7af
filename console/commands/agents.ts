// `meerkat agents [--json]`: every agent the collector knows - online or not, last seen,
// software version, capture and spool health, shipping and interdiction state - from the
// agents' heartbeats (kept by the collector across its restarts).
import type { Command } from 'commander';
import type { AgentView } from '../../shared/commands/admin-views.js';
import { deanonFilter } from '../deanon-text.js';
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

/** The readable block per agent. */
export function agentText(a: AgentListEntry, nowMs = Date.now()): string {
  const h = a.health ?? {};
  const control = (h.control ?? {}) as { snapLen?: number; capture?: string; shipping?: string; peerCapture?: unknown[] };
  const inter = (h.interdiction ?? {}) as { mode?: string; active?: string[]; unavailable?: string };
  const lines = [
    `${a.agentId}  ${a.online ? 'ONLINE' : 'offline'}  last seen ${a.online ? 'now' : ago(a.lastSeen, nowMs)}  version ${a.version ?? '?'}`,
  ];
  if (a.health) {
    lines.push(`  capture: ${control.capture ?? '?'}, ${num(h.packetsCaptured)} packets seen, ${num(h.packetsKept)} kept, ${num(h.packetsIfDropped ?? h.packetsDropped)} dropped, ${num(h.dumpsWritten)} dumps, snap length ${num(control.snapLen)}${control.peerCapture?.length ? `, ${control.peerCapture.length} targeted` : ''}`);
    lines.push(`  spool: ${num(h.spoolFiles)} dumps, ${bytes(h.spoolBytes)}, ${num(h.spoolDropped)} dropped; shipping: ${control.shipping ?? '?'}`);
    lines.push(`  agent: cpu ${num(h.cpuPercent)}%, rss ${bytes(h.rssBytes)}, up ${num(h.uptimeSec)} s`);
    const retro = (h.retro ?? null) as { enabled?: boolean; bytes?: number; seconds?: number } | null;
    if (retro?.enabled) lines.push(`  retro ring: ${bytes(retro.bytes)} on the agent's disk, ${num(retro.seconds)} s of packets`);
    const active = (inter.active ?? []).filter((l) => !l.startsWith('management'));
    if (inter.unavailable) lines.push(`  interdiction: unavailable (${inter.unavailable})`);
    else lines.push(`  interdiction: ${active.length ? active.join('; ') : 'none'}`);
  } else {
    lines.push('  no heartbeat yet');
  }
  const p = a.payload;
  lines.push(p ? `  payload kept on the collector: ${bytes(p.bytes)} in ${p.dumps} dumps (retro ${bytes(p.retroBytes)})${p.oldestUs ? `, since ${new Date(p.oldestUs / 1000).toISOString()}` : ''}` : '  payload kept on the collector: none');
  return lines.join('\n') + '\n';
}

export function registerAgentsCommand(program: Command): void {
  remoteOptions(program
    .command('agents')
    .description('list agents: online state, last seen, version, capture, spool and interdiction (from heartbeats)')
    .option('--deanon', 'show the real address behind each pseudonym (needs the owner key)')
    .option('--keys <dir>', 'owner key directory (for --deanon)'), { wait: false })
    .action(async (f: RemoteFlags & { deanon?: boolean; keys?: string }) => {
      const client = clientFrom(f);
      const { agents } = await client.get<{ agents: AgentListEntry[] }>(client.scoped('/agents'));
      // payload usage from the collector's store (older collectors have no such endpoint)
      const usage = await client.get<{ agents: ({ agentId: string } & NonNullable<AgentListEntry['payload']>)[] }>(client.scoped('/pcap/usage')).catch(() => null);
      for (const a of agents) {
        const u = usage?.agents.find((x) => x.agentId === a.agentId);
        if (u) a.payload = { dumps: u.dumps, bytes: u.bytes, retroDumps: u.retroDumps, retroBytes: u.retroBytes, oldestUs: u.oldestUs };
      }
      if (f.json) {
        process.stdout.write(JSON.stringify(agents) + '\n');
        return;
      }
      const deanon = deanonFilter(f.deanon, f.keys);
      if (agents.length === 0) process.stdout.write('no agents yet\n');
      for (const a of agents) process.stdout.write(deanon(agentText(a)));
    });
}
