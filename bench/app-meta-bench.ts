// Application metadata at the agent, measured: the dump bytes the metadata records add per
// packet (browsing-like capture from make-browsing-capture.ts, and real reference captures),
// and the replay pipeline's packets/s per core with extraction on and off (the bench
// capture, alternating runs so the shared machine's load hits both alike).
// Runnable alone: node dist/bench/app-meta-bench.js [--runs=N] [--pages=N]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuSeconds } from './report.js';
import { makeBenchCapture } from './make-capture.js';
import { makeBrowsingCapture } from './make-browsing-capture.js';
import { initOwnerKeys } from '../shared/keys/owner-keys.js';
import { replayFiles, type ReplaySummary } from '../agent/pipeline/replay-files.js';
import { repoRoot, referencePcapsDir } from '../shared/util/repo-paths.js';
import { median } from './alternated-rounds.js';

export interface MetadataOverhead {
  file: string;
  packets: number;
  records: number;
  bytesPerPacketOff: number;
  bytesPerPacketOn: number;
  /** added dump bytes per packet */
  overhead: number;
}

async function replay(file: string, keyFile: string, metadata: boolean): Promise<{ summary: ReplaySummary; cpu: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-bench-meta-'));
  try {
    const r = await cpuSeconds(() => replayFiles([file], { outDir: dir, anonymize: 'internal', keyFile, packetsPerDump: 20_000, snapLen: 0, metadata }));
    return { summary: r.result, cpu: r.cpu };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function perPacket(s: ReplaySummary): number {
  const bytes = s.dumps.reduce((a, d) => a + d.bytes, 0);
  const packets = s.dumps.reduce((a, d) => a + d.packets, 0);
  return packets > 0 ? bytes / packets : 0;
}

export async function benchMetadataOverhead(files: string[], keyFile: string): Promise<MetadataOverhead[]> {
  const out: MetadataOverhead[] = [];
  for (const file of files) {
    const off = await replay(file, keyFile, false);
    const on = await replay(file, keyFile, true);
    const m = on.summary.stats.metadata!;
    out.push({
      file, packets: on.summary.stats.packetsKept, records: m.dns + m.tlsClient + m.tlsServer + m.http,
      bytesPerPacketOff: perPacket(off.summary), bytesPerPacketOn: perPacket(on.summary), overhead: perPacket(on.summary) - perPacket(off.summary),
    });
  }
  return out;
}

/** Replay pipeline packets/s per core with extraction off and on, `runs` alternating pairs. */
export async function benchPipelineWithMetadata(file: string, keyFile: string, runs: number): Promise<{ off: number[]; on: number[] }> {
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = await replay(file, keyFile, false);
    off.push(a.summary.stats.packetsSeen / a.cpu);
    const b = await replay(file, keyFile, true);
    on.push(b.summary.stats.packetsSeen / b.cpu);
  }
  return { off, on };
}


if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string, dflt: number): number => {
    const a = process.argv.find((s) => s.startsWith(`--${name}=`));
    return a ? Number(a.slice(name.length + 3)) : dflt;
  };
  const outDir = join(repoRoot(), 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const keyDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-key-'));
  try {
    initOwnerKeys(join(keyDir, 'owner'));
    const keyFile = join(keyDir, 'owner', 'anon.key');
    const browsing = makeBrowsingCapture(outDir, arg('pages', 400));
    const files = [browsing.file, ...['ndpi/netflix.pcap', 'ndpi/6in4tunnel.pcap', 'zeek/wikipedia.pcap'].map((f) => join(referencePcapsDir(), f))];
    for (const o of await benchMetadataOverhead(files, keyFile)) {
      console.log(`${o.file}: ${o.packets} packets, ${o.records} metadata records; dump ${o.bytesPerPacketOff.toFixed(3)} -> ${o.bytesPerPacketOn.toFixed(3)} bytes/packet (+${o.overhead.toFixed(3)})`);
    }
    const cap = makeBenchCapture(outDir, arg('packets', 1_000_000));
    const r = await benchPipelineWithMetadata(cap.file, keyFile, arg('runs', 3));
    const m = (x: number): string => (x / 1e6).toFixed(3);
    console.log(`${cap.file}: replay pipeline, M packets/s per core`);
    console.log(`  extraction off: runs ${r.off.map(m).join(' ')}; median ${m(median(r.off))}`);
    console.log(`  extraction on:  runs ${r.on.map(m).join(' ')}; median ${m(median(r.on))}`);
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
}
