// What the retro ring costs the agent: the shipped agent (bundle, launcher, default profile) enrolled
// to a real collector, capturing 20,000 UDP packets/s in a network namespace (agent-memory.ts),
// with the ring off and on - alternated, so both see the same machine load - and reported as
// CPU (percent of a core), peak RSS, and the ring's disk bytes written per packet. Also one run
// with the ring keeping whole 64 KiB packets (snapLen 65535), whose capture ring is the cost.
import { fileURLToPath } from 'node:url';
import { benchAgentMemory, type AgentMemoryResult } from './agent-memory.js';

export interface RetroCostResult {
  off: AgentMemoryResult[];
  on: AgentMemoryResult[];
  /** ring on with snapLen 65535 (whole GRO/TSO aggregates) */
  whole: AgentMemoryResult | null;
  cpuOff: number;
  cpuOn: number;
  rssOff: number;
  rssOn: number;
  /** ring bytes written to disk per packet captured (ring on, default snap length) */
  diskBytesPerPacket: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function benchRetroCost(opts: { seconds?: number; rate?: number; rounds?: number; whole?: boolean; log?: (s: string) => void } = {}): Promise<RetroCostResult> {
  const seconds = opts.seconds ?? 10;
  const rate = opts.rate ?? 20_000;
  const off: AgentMemoryResult[] = [];
  const on: AgentMemoryResult[] = [];
  for (let i = 0; i < (opts.rounds ?? 2); i++) {
    opts.log?.(`  round ${i + 1}: ring off`);
    off.push(await benchAgentMemory({ seconds, rate }));
    opts.log?.(`  round ${i + 1}: ring on (defaults: 300 s, 256 MiB, snapLen 1600)`);
    on.push(await benchAgentMemory({ seconds, rate, agentConfig: { retro: { enabled: true } } }));
  }
  let whole: AgentMemoryResult | null = null;
  if (opts.whole ?? true) {
    opts.log?.('  ring on, snapLen 65535 (whole 64 KiB aggregates)');
    whole = await benchAgentMemory({ seconds, rate, agentConfig: { retro: { enabled: true, snapLen: 65535 } } });
  }
  const written = on.reduce((a, r) => a + (r.retro?.bytesWritten ?? 0), 0);
  const added = on.reduce((a, r) => a + (r.retro?.packetsAdded ?? 0), 0);
  return {
    off, on, whole,
    cpuOff: median(off.map((r) => r.cpuPercent)),
    cpuOn: median(on.map((r) => r.cpuPercent)),
    rssOff: median(off.map((r) => r.peak.rssMb)),
    rssOn: median(on.map((r) => r.peak.rssMb)),
    diskBytesPerPacket: added > 0 ? written / added : NaN,
  };
}

// `npx tsx bench/retro-cost.ts [rounds]` (root: network namespaces; the agent bundle must be built)
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchRetroCost({ rounds: Number(process.argv[2] ?? 2), log: (s) => process.stderr.write(s + '\n') }).then((r) => {
    const line = (name: string, x: AgentMemoryResult): string =>
      `${name}: CPU ${x.cpuPercent.toFixed(1)} %, peak RSS ${x.peak.rssMb.toFixed(1)} MB (ring mapping ${(x.mappings['capture ring (packet socket)'] ?? 0).toFixed(1)} MB), ${x.packetsSeen}/${x.packetsSent} packets, kernel drops ${x.kernelDrops}` +
      (x.retro?.enabled ? `, ring ${((x.retro.bytes ?? 0) / 1e6).toFixed(1)} MB on disk, ${((x.retro.bytesWritten ?? 0) / Math.max(1, x.retro.packetsAdded ?? 0)).toFixed(1)} bytes written/packet` : '');
    for (const x of r.off) process.stdout.write(line('ring off', x) + '\n');
    for (const x of r.on) process.stdout.write(line('ring on ', x) + '\n');
    if (r.whole) process.stdout.write(line('ring on, snapLen 65535', r.whole) + '\n');
    process.stdout.write(`median: CPU ${r.cpuOff.toFixed(1)} -> ${r.cpuOn.toFixed(1)} %, peak RSS ${r.rssOff.toFixed(1)} -> ${r.rssOn.toFixed(1)} MB, ${r.diskBytesPerPacket.toFixed(1)} disk bytes per packet\n`);
  }, (e: unknown) => { process.stderr.write(String(e) + '\n'); process.exitCode = 1; });
}
