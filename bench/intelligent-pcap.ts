// Intelligent packet capture, measured: the long mixed capture (mixed-capture.ts: hours of benign
// traffic, three malicious episodes) replayed through the agent and the collector as they run -
// the agent's pipeline (header-only dumps, watchlist early flush, retro ring on disk) and the
// collector's (dump ingest, flows, threat-intel / beacon / scan analyzers, per-packet threat
// check, response rules -> signed commands), with the agent's command executor running what the
// collector issues (capture.peer, capture.retro, verified against the pinned response key).
// One process, packet time as the clock of both sides (so hours replay in seconds); a dump
// reaches the collector when the agent emits it, and a command runs when the collector issues it.
// Reported: bytes on the wire, what `tcpdump -w` would store, what Meerkat stores (dumps, and the
// database), payload bytes kept, the share of the episodes' packets kept whole (retro included),
// and the reduction factor.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from '../shared/log.js';
import { AddressAnonymizer } from '../shared/anonymize/address-anonymizer.js';
import { initOwnerKeys, loadAnonKey } from '../shared/keys/owner-keys.js';
import { openCaptureFile } from '../shared/capture-file/index.js';
import { decodeDump, DumpFlag, readDumpHeader } from '../shared/dump/index.js';
import { formatIp } from '../shared/net/ip-address.js';
import { ed25519PublicKeyObject } from '../shared/commands/operator-keys.js';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { packetKey } from '../shared/pcap-export/select-records.js';
import { AgentPipeline } from '../agent/pipeline/agent-pipeline.js';
import { RetroRing } from '../agent/retro/retro-ring.js';
import { RetroControl } from '../agent/retro/retro-control.js';
import { CaptureControl } from '../agent/control/capture-control.js';
import { CommandExecutor } from '../agent/control/command-executor.js';
import { ReplayGuard } from '../agent/control/replay-guard.js';
import { WatchlistTrigger } from '../agent/watchlist/watchlist-trigger.js';
import { createAnalysisRuntime } from '../collector/analyze/analysis-runtime.js';
import { DumpIngest } from '../collector/import/dump-ingest.js';
import { ThreatWatchlist } from '../collector/respond/threat-watchlist.js';
import { PacketThreatTap } from '../collector/respond/packet-threat-tap.js';
import { ResponseEngine } from '../collector/respond/response-engine.js';
import { parseResponsesConfig } from '../collector/respond/response-config.js';
import { loadOrCreateResponseKey } from '../collector/respond/response-key.js';
import { repoRoot } from '../shared/util/repo-paths.js';
import { makeMixedCapture, type MixedCapture } from './mixed-capture.js';

const AGENT = '6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d';

/** The response rules of the benchmark: any analyzer's alert keeps its peer's packets, before and after. */
export const BENCH_RESPONSES = [
  { category: 'threat-intel', minSeverity: 'high', command: { type: 'capture-retro', beforeSec: 300 } },
  { category: 'threat-intel', minSeverity: 'high', command: { type: 'capture-full', forSec: 1800 } },
  { category: 'beacon', minSeverity: 'medium', minScore: 0.8, command: { type: 'capture-retro', beforeSec: 300 } },
  { category: 'beacon', minSeverity: 'medium', minScore: 0.8, command: { type: 'capture-full', forSec: 3600 } },
  { category: 'scan', minSeverity: 'medium', command: { type: 'capture-retro', beforeSec: 300 } },
  { category: 'scan', minSeverity: 'medium', command: { type: 'capture-full', forSec: 1800 } },
];

export interface EpisodeFigures {
  name: string;
  peer: string;
  packets: number;
  /** packets stored with every payload byte (header-only packets without payload count: nothing is missing) */
  whole: number;
  /** of which whole only thanks to a retro dump */
  viaRetro: number;
  /** packet time from the episode's first packet to its first alert, s */
  alertAfterSec: number | null;
}

export interface IntelligentPcapResult {
  hours: number;
  ringSeconds: number;
  packets: number;
  wireBytes: number;
  /** `tcpdump -w` of the same traffic */
  fullCaptureBytes: number;
  /** dumps the collector keeps (header-only, targeted payload, retro) */
  storedDumpBytes: number;
  retroDumpBytes: number;
  /** the collector database (flows, alerts, commands) */
  databaseBytes: number;
  payloadBytesKept: number;
  reductionFactor: number;
  episodes: EpisodeFigures[];
  /** share of all episode packets stored whole */
  maliciousWholeShare: number;
  alerts: { category: string; peer: string; firstSeenUs: number }[];
  commands: { kind: string; status: string; packets?: number }[];
  /** the ring at the end */
  ring: { bytes: number; bytesWritten: number; packetsAdded: number };
  cpuSeconds: number;
}

async function runOnce(cap: MixedCapture, dir: string, ringSeconds: number, log: (s: string) => void): Promise<IntelligentPcapResult> {
  const quiet = logger('bench-ipcap');
  quiet.level = 'silent';
  initOwnerKeys(join(dir, 'owner'));
  const anonKey = loadAnonKey(join(dir, 'owner', 'anon.key'));
  const feed = join(dir, 'feed.txt');
  writeFileSync(feed, `# bench feed\n${cap.listed}\n192.0.2.99\n203.0.113.200\n`);
  const db = join(dir, 'meerkat.db');
  const dumpDir = join(dir, 'dumps');
  mkdirSync(dumpDir, { recursive: true });
  let clockUs = cap.startUs;
  const clockMs = (): number => Math.floor(clockUs / 1000);

  // ---- the collector ----
  const store = new SqliteFlowStore(db, { synchronous: 'normal' });
  const analysis = await createAnalysisRuntime({
    db, configSource: join(dir, 'collector.json'), synchronous: 'normal', log: quiet,
    config: { analyzers: [
      { builtin: 'threat-intel', config: { feeds: [{ name: 'bench-feed', path: feed, severity: 'high' }] } },
      { builtin: 'beacon', config: { evaluateEverySec: 300 } },
      { builtin: 'scan' },
    ] },
  });
  const watchlist = ThreatWatchlist.fromPlan(analysis.plan, analysis.baseDir, quiet);
  const tap = new PacketThreatTap(watchlist, analysis.pipeline.add);
  const ingest = new DumpIngest(store, { onRecord: analysis.onRecord, onPacket: (r, a) => tap.tap(r, a) });
  const rk = loadOrCreateResponseKey(join(dir, 'response-key'));
  const engine = new ResponseEngine({ dbPath: db, rules: parseResponsesConfig(BENCH_RESPONSES), key: rk.key, log: quiet, now: clockMs });
  analysis.pipeline.onChanges = engine.onChanges;

  // ---- the agent ----
  const anonymizer = new AddressAnonymizer({ key: anonKey, policy: 'internal' });
  const queue: Uint8Array[] = [];
  let seq = 1;
  const pipeline = new AgentPipeline({
    agentId: AGENT, anonymizer, snapLen: 0, packetsPerDump: 20_000, dumpSeconds: 120, hostAddresses: [cap.host],
    nextSequence: () => seq++, onDump: (b) => { queue.push(b); },
  });
  const ring = RetroRing.open({ dir: join(dir, 'ring'), seconds: ringSeconds, maxBytes: 256 << 20, snapLen: 1600, log: quiet });
  pipeline.setRetroTap(ring);
  const trigger = new WatchlistTrigger({ flush: () => pipeline.flush(), install: (w) => pipeline.setPacketWatch(w), now: clockMs, log: quiet });
  const wl = watchlist.current();
  if (wl) trigger.update(wl as Parameters<WatchlistTrigger['update']>[0]);
  const capture = new CaptureControl({
    pipeline: { setSnapLen: (n) => pipeline.setSnapLen(n), addPeerRule: (r) => pipeline.addPeerRule(r), setDumpLimits: (p, s) => pipeline.setDumpLimits(p, s), flush: () => pipeline.flush() },
    capture: { start: async () => undefined, stop: () => undefined },
    shipping: { pause: () => undefined, resume: () => undefined, paused: false },
    defaults: { snapLen: 0, packetsPerDump: 20_000, dumpSeconds: 120 },
  }, join(dir, 'capture.json'), quiet, clockMs);
  const retro = new RetroControl({
    ring, agentId: AGENT, anonymizer, linkType: 1, notify: () => undefined, maxPullBytes: 256 << 20, log: quiet, now: clockMs,
    spool: { nextSequence: () => seq++, put: (_s, b) => { queue.push(b); }, stats: () => ({ bytes: 0 }) }, spoolMaxBytes: 4 * 1024 ** 3,
  });
  const executor = new CommandExecutor({
    agentId: AGENT, log: quiet, now: clockMs,
    keys: () => ({ keys: new Map([[rk.key.keyId, ed25519PublicKeyObject(rk.key.publicKey)]]), pinned: [], problems: [] }),
    replay: ReplayGuard.open(join(dir, 'replay.json'), { now: clockMs }),
    capture, retro, interdiction: null, inventory: () => { throw new Error('not in the bench'); },
  });

  const stored: { path: string; retro: boolean }[] = [];
  const executed = new Set<string>();
  const commands: IntelligentPcapResult['commands'] = [];
  /** dumps the agent emitted go to the collector; what the collector issues, the agent runs */
  const deliver = async (): Promise<void> => {
    while (queue.length > 0) {
      const bytes = queue.shift()!;
      const h = readDumpHeader(bytes);
      const path = join(dumpDir, `${String(h.sequence).padStart(10, '0')}.mkd`);
      writeFileSync(path, bytes);
      stored.push({ path, retro: (h.flags & DumpFlag.Retro) !== 0 });
      ingest.ingest(bytes, { receivedUs: clockUs, rawPath: path, expectAgentId: AGENT });
      // the agent's heartbeat: everything before its open dump is stored
      const watermark = clockUs - 1_000_000;
      ingest.advanceAgent(AGENT, watermark);
      analysis.host.advanceAgent(AGENT, watermark);
      analysis.flush();
      for (const c of engine.queue.pendingFor(AGENT)) {
        if (executed.has(c.id)) continue;
        executed.add(c.id);
        const r = await executor.handle(c.id, c.envelope);
        const out = r.result as { status: string; data?: { packets?: number } };
        engine.queue.complete(c.id, r.result as Parameters<typeof engine.queue.complete>[1]);
        commands.push({ kind: c.kind, status: out.status, ...(typeof out.data?.packets === "number" ? { packets: out.data.packets } : {}) });
      }
    }
  };

  const cpu0 = process.cpuUsage();
  const reader = openCaptureFile(cap.file);
  let n = 0;
  try {
    for (let f = reader.next(); f !== null; f = reader.next()) {
      clockUs = f.tsUs;
      pipeline.handleFrame(f.linkType, f.buf, f.offset, f.capLen, f.wireLen, f.tsUs);
      if (queue.length > 0) await deliver();
      if (++n % 5000 === 0) pipeline.tick(clockUs);
    }
  } finally {
    reader.close();
  }
  pipeline.flush();
  await deliver();
  ingest.flushAll();
  analysis.flush();
  const cpu = process.cpuUsage(cpu0);
  const ringStats = ring.stats();
  ring.close();
  trigger.stop();

  // ---- what is stored ----
  const peers = new Map(cap.episodes.map((e) => [e.peer, e]));
  const whole = new Map<string, boolean>();
  const viaRetro = new Set<string>();
  const epPackets = new Map<string, Set<string>>();
  let payloadBytesKept = 0;
  let storedDumpBytes = 0;
  let retroDumpBytes = 0;
  for (const d of stored) {
    const bytes = readFileSync(d.path);
    storedDumpBytes += bytes.length;
    if (d.retro) retroDumpBytes += bytes.length;
    decodeDump(bytes).forEach((r) => {
      payloadBytesKept += r.payload.length;
      const src = formatIp(r.ipVersion, r.src);
      const dst = formatIp(r.ipVersion, r.dst);
      const ep = peers.get(src) ?? peers.get(dst);
      if (!ep) return;
      const k = packetKey(r);
      if (!d.retro) {
        let s = epPackets.get(ep.name);
        if (!s) epPackets.set(ep.name, (s = new Set()));
        s.add(k);
      }
      const full = r.payload.length === r.payloadLen;
      if (full) {
        if (d.retro && whole.get(k) !== true) viaRetro.add(k);
        whole.set(k, true);
      } else if (!whole.has(k)) {
        whole.set(k, false);
      }
    });
  }
  const alerts = analysis.store.list({ limit: 1000 }).map((a) => ({ category: a.category, peer: a.peer, firstSeenUs: a.firstSeenUs }));
  const episodes: EpisodeFigures[] = cap.episodes.map((e) => {
    const keys = epPackets.get(e.name) ?? new Set<string>();
    const first = alerts.filter((a) => a.peer === e.peer).map((a) => a.firstSeenUs).sort((x, y) => x - y)[0];
    return {
      name: e.name, peer: e.peer, packets: keys.size,
      whole: [...keys].filter((k) => whole.get(k) === true).length,
      viaRetro: [...keys].filter((k) => viaRetro.has(k)).length,
      alertAfterSec: first === undefined ? null : Math.round((first - e.startUs) / 1e5) / 10,
    };
  });
  await analysis.close();
  engine.close();
  store.close();
  const fullCaptureBytes = tcpdumpBytes(cap.file, dir);
  const total = episodes.reduce((a, e) => a + e.packets, 0);
  log(`  ring ${ringSeconds} s: ${stored.length} dumps (${stored.filter((d) => d.retro).length} retro), ${commands.length} commands`);
  return {
    hours: (cap.endUs - cap.startUs) / 3_600e6, ringSeconds, packets: cap.packets, wireBytes: cap.wireBytes, fullCaptureBytes,
    storedDumpBytes, retroDumpBytes, databaseBytes: dbBytes(db), payloadBytesKept,
    reductionFactor: fullCaptureBytes / storedDumpBytes, episodes,
    maliciousWholeShare: total > 0 ? episodes.reduce((a, e) => a + e.whole, 0) / total : NaN,
    alerts, commands, ring: { bytes: ringStats.bytes, bytesWritten: ringStats.bytesWritten, packetsAdded: ringStats.packetsAdded },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** What `tcpdump -w` stores for this traffic: tcpdump itself rewriting the capture (or its size without tcpdump). */
function tcpdumpBytes(file: string, dir: string): number {
  const out = join(dir, 'tcpdump-w.pcap');
  try {
    execFileSync('tcpdump', ['-r', file, '-w', out], { stdio: 'ignore' });
    const n = statSync(out).size;
    rmSync(out, { force: true });
    return n;
  } catch {
    return statSync(file).size;
  }
}

function dbBytes(db: string): number {
  let n = 0;
  for (const f of [db, `${db}-wal`]) if (existsSync(f)) n += statSync(f).size;
  return n;
}

/** The generated capture, cached in bench/out (same seed, same packets). */
export function benchMixedCapture(hours: number): MixedCapture {
  const outDir = join(repoRoot(), 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  return makeMixedCapture(join(outDir, `mixed-${hours}h.pcap`), { hours });
}

export async function benchIntelligentPcap(opts: { hours?: number; ringSeconds?: number[]; log?: (s: string) => void } = {}): Promise<IntelligentPcapResult[]> {
  const log = opts.log ?? (() => undefined);
  const cap = benchMixedCapture(opts.hours ?? 8);
  log(`  capture: ${cap.packets} packets, ${(cap.wireBytes / 1e6).toFixed(1)} MB on the wire, ${((cap.endUs - cap.startUs) / 3.6e9).toFixed(1)} h`);
  const out: IntelligentPcapResult[] = [];
  for (const s of opts.ringSeconds ?? [300, 1800]) {
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-ipcap-'));
    try {
      out.push(await runOnce(cap, dir, s, log));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

// `npx tsx bench/intelligent-pcap.ts [hours]`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchIntelligentPcap({ hours: Number(process.argv[2] ?? 8), log: (s) => process.stderr.write(s + '\n') }).then((rs) => {
    for (const r of rs) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  }, (e: unknown) => { process.stderr.write(String((e as Error).stack ?? e) + '\n'); process.exitCode = 1; });
}
