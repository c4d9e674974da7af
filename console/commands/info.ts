// `meerkat info AGENT`: the machine inventory. Asks the agent for a fresh one (a signed
// read-only command; `--cached` shows the last one the collector holds instead). The sensitive
// half (host name, users, real addresses, MACs) arrives sealed to the owner's box key: it is
// opened here when the owner key directory is at hand, and shown as "sealed" otherwise.
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';
import { loadOwnerKeys, type OwnerKeys } from '../../shared/keys/owner-keys.js';
import { openSealed, SealedBoxError } from '../../shared/commands/sealed-box.js';
import type { InventoryPlain, InventoryReport, InventorySensitive } from '../../shared/commands/agent-reports.js';
import { ownerKeysDir } from '../settings.js';
import { deanonymizeStarred, ownerKeysOption } from '../deanon-text.js';
import { clientFrom, remoteOptions, resolveAgentId, stateLine, submitCommand, type RemoteFlags } from './remote-command.js';

interface Flags extends RemoteFlags { ownerKeys?: string; cached?: boolean }

export interface OpenedInventory {
  agentId: string;
  collectedAt: string;
  plain: InventoryPlain;
  /** the opened sensitive half, or why it is not shown */
  sensitive: InventorySensitive | 'sealed' | 'not-reported';
  note?: string;
}

/** Opens the sealed half with the owner keys, if any. */
function openInventory(agentId: string, report: InventoryReport, owner: OwnerKeys | null): OpenedInventory {
  let sensitive: OpenedInventory['sensitive'] = report.sealed ? 'sealed' : 'not-reported';
  let note = report.note;
  if (report.sealed && owner) {
    try {
      sensitive = JSON.parse(Buffer.from(openSealed(report.sealed, owner)).toString('utf8')) as InventorySensitive;
    } catch (e) {
      if (!(e instanceof SealedBoxError)) throw e;
      note = e.message;
    }
  }
  return { agentId, collectedAt: report.collectedAt, plain: report.plain, sensitive, ...(note ? { note } : {}) };
}

function gib(n: number): string {
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

function inventoryText(inv: OpenedInventory, anonKey: Uint8Array | null): string {
  const p = inv.plain;
  const s = typeof inv.sensitive === 'object' ? inv.sensitive : null;
  const out: string[] = [];
  out.push(`agent ${inv.agentId} (inventory of ${inv.collectedAt})`);
  out.push(`host name: ${s ? s.hostname : inv.sensitive}`);
  out.push(`os: ${p.os.distro || p.os.platform} (${p.os.platform} ${p.os.release}, ${p.os.arch}); up ${Math.round(p.uptimeSec / 3600)} h`);
  out.push(`cpu: ${p.cpu.cores} x ${p.cpu.model}; load ${p.cpu.loadavg.join(' ')}`);
  out.push(`memory: ${gib(p.memory.totalBytes)}, ${gib(p.memory.freeBytes)} free`);
  p.disks.forEach((d, i) => out.push(`disk: ${s?.disks[i] ? `${s.disks[i]!.mount} (${s.disks[i]!.device}) ` : ''}${d.fsType} ${gib(d.sizeBytes)}, ${gib(d.freeBytes)} free`));
  for (const i of p.interfaces) {
    const real = s?.interfaces.find((x) => x.name === i.name);
    const pseud = i.pseudonyms.map((x) => (anonKey ? deanonymizeStarred(x, anonKey) : x)).join(', ');
    out.push(`interface ${i.name}: ${real ? `${real.addresses.join(', ')} mac ${real.mac}` : `${i.ipv4} IPv4 / ${i.ipv6} IPv6 (addresses sealed)`}${pseud ? `; in the data: ${pseud}` : ''}`);
  }
  if (s) {
    out.push(`users: ${s.users.accounts.join(', ') || 'none'}; logged in: ${s.users.sessions.map((x) => `${x.user}@${x.line}${x.host ? ` from ${x.host}` : ''}`).join(', ') || 'nobody'}`);
  } else {
    out.push(`users: ${p.users.accounts} accounts, ${p.users.sessions} sessions (names ${inv.sensitive})`);
  }
  out.push(`agent: version ${p.agent.version}, up ${p.agent.uptimeSec} s, rss ${(p.agent.rssBytes / 1024 ** 2).toFixed(1)} MiB, cpu ${p.agent.cpuSeconds} s`);
  if (inv.note) out.push(`note: ${inv.note}`);
  return out.join('\n') + '\n';
}

function ownerKeysOrNull(dir: string | undefined): OwnerKeys | null {
  try {
    return loadOwnerKeys(ownerKeysDir(dir));
  } catch {
    return null;
  }
}

export function registerInfoCommand(program: Command): void {
  ownerKeysOption(remoteOptions(program
    .command('info')
    .description('machine inventory of an agent; host name, users, addresses and MACs are opened with the owner key, "sealed" without')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .option('--cached', 'show the last inventory the collector holds, do not ask the agent')), 'to open the sealed half')
    .action(async (agent: string, f: Flags) => {
      let report: InventoryReport;
      let agentId: string;
      if (f.cached) {
        const client = clientFrom(f);
        agentId = await resolveAgentId(client, agent);
        report = (await client.get<{ report: InventoryReport }>(client.scoped(`/agents/${agentId}/inventory`))).report;
      } else {
        // info always waits for the answer (for at most --wait seconds when given)
        const c = await submitCommand({ ...f, wait: f.wait ?? true }, agent, 'inventory', {});
        agentId = c.agentId;
        if (c.state !== 'done') {
          if (f.json) process.stdout.write(JSON.stringify(c) + '\n');
          else process.stdout.write(stateLine(c) + '\n');
          if (c.state === 'queued' || c.state === 'delivered') throw new UsageError(`the agent has not answered yet; see \`meerkat command ${c.id} --wait\`, then \`meerkat info ${agentId} --cached\``);
          process.exitCode = 1;
          return;
        }
        report = c.result?.data as InventoryReport;
      }
      const owner = ownerKeysOrNull(f.ownerKeys);
      const opened = openInventory(agentId, report, owner);
      process.stdout.write(f.json ? JSON.stringify(opened) + '\n' : inventoryText(opened, owner?.anonKey ?? null));
    });
}
