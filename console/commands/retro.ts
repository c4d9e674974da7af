// `meerkat retro AGENT --peer ADDR|CIDR [--port P] --since T [--until T]`: the agent ships the
// packets its retro ring still holds for that window (signed command capture.retro; the ring is
// the agent's encrypted record of the last minutes, with payload: docs/pcap.md). The peer is
// named as the collector's data shows it (pseudonym* or external); --all takes every peer.
// The packets arrive as retro dumps; `meerkat pcap` exports them with the rest.
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { parseTimeOption } from '../../shared/cli/time-option.js';
import { PeerRefError, parseRecordAddress } from '../../shared/commands/peer-ref.js';
import { deanonFilter, deanonOptions } from '../deanon-text.js';
import { remoteOptions, reportCommand, submitCommand, type RemoteFlags } from './remote-command.js';

interface RetroFlags extends RemoteFlags {
  peer?: string;
  all?: boolean;
  port?: number;
  since: string;
  until?: string;
  deanon?: boolean;
  ownerKeys?: string;
}

interface PullReport {
  packets: number; dumps: number; bytes: number; truncated: boolean; chunksLost: number;
  since: string; until: string; ringFrom: string | null; ringUntil: string | null; peer?: string; port?: number;
}

export function retroReportText(data: unknown): string {
  const r = data as PullReport;
  if (typeof r !== 'object' || r === null || typeof r.packets !== 'number') return JSON.stringify(data) + '\n';
  const who = `${r.peer ? `peer ${r.peer}` : 'every peer'}${r.port ? ` port ${r.port}` : ''}`;
  const lines = [
    `retro capture: ${r.packets} packets of ${who} in ${r.dumps} dumps (${(r.bytes / 1024).toFixed(1)} KiB), ${r.since} .. ${r.until}; shipping now`,
    `the ring held ${r.ringFrom ? `${r.ringFrom} .. ${r.ringUntil}` : 'nothing'}`,
  ];
  if (r.truncated) lines.push('cut short by the pull bound (retro.maxPullBytes, or the spool\'s free room): ask for a shorter window');
  if (r.chunksLost > 0) lines.push(`${r.chunksLost} chunks left the ring while it was read`);
  return lines.join('\n') + '\n';
}

export function registerRetroCommand(program: Command): void {
  const cmd = remoteOptions(program
    .command('retro')
    .description("ship the packets an agent's retro ring holds for a window (payload from before an alert)")
    .argument('<agent>', 'agent id (or a unique prefix)')
    .option('--peer <address>', 'only this address or CIDR on either side, as the data shows it (pseudonym* or external)')
    .option('--all', 'every peer (the whole window, bounded by the agent)')
    .option('--port <n>', 'only this port (either side)', parseIntOption('--port', 1, 65535))
    .requiredOption('--since <time>', 'from: ISO time, epoch seconds, or a duration ago (5m)')
    .option('--until <time>', 'until (default now)'))
  deanonOptions(cmd)
    .action(async (agent: string, f: RetroFlags) => {
      if (!f.peer && !f.all) throw new UsageError('name the peer (--peer ADDRESS) or take every peer (--all)');
      if (f.peer && f.all) throw new UsageError('--peer and --all exclude each other');
      let peer: string | undefined;
      try {
        peer = f.peer ? parseRecordAddress(f.peer, '--peer') : undefined;
      } catch (e) {
        if (e instanceof PeerRefError) throw new UsageError(e.message);
        throw e;
      }
      const now = Date.now();
      const sinceMs = Math.floor(parseTimeOption('--since', f.since, now) / 1000);
      const untilMs = f.until ? Math.floor(parseTimeOption('--until', f.until, now) / 1000) : now;
      if (!(untilMs > sinceMs)) throw new UsageError('--until must be after --since');
      const c = await submitCommand(f, agent, 'capture.retro', { ...(peer ? { peer } : {}), ...(f.port ? { port: f.port } : {}), sinceMs, untilMs });
      const deanon = deanonFilter(f.deanon, f.ownerKeys);
      reportCommand(c, f, (d) => deanon(retroReportText(d)));
    });
}
