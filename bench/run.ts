// `npm run bench`: every speed and size figure of the project in one run, with
// references (Argus) measured on the same capture in the same run. Prints a
// table, or JSON with --json. No pass/fail: targets are printed beside figures.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchReport, cpuSeconds } from './report.js';
import { makeBenchCapture } from './make-capture.js';
import { timeArgus } from './argus-reference.js';
import { alternateRounds, cpuOf, median, roundRatios, span } from './alternated-rounds.js';
import { argusRoundCommand, CORE_ONLY, NO_ANALYZE, partsCost, wholeCommand } from './whole-alternated.js';
import { buildWasmFloor, floorJs, floorWasm } from './per-packet-floor.js';
import { benchDecode } from './decode-bench.js';
import { benchAnonymize } from './anonymize-bench.js';
import { benchDumpEncode } from './dump-bench.js';
import { benchFlows, benchDumpToStore, benchCaptureToFlows, loadRecords } from './flow-bench.js';
import { initOwnerKeys } from '../shared/keys/owner-keys.js';
import { benchIngest } from './ingest-bench.js';
import { benchAnalyzers } from './analyze-bench.js';
import { measureAlertQuality } from './alert-quality.js';
import { benchAlertLatency, benchDomainAlertLatency } from './alert-latency.js';
import { reportAgentMemory } from './agent-memory-report.js';
import { benchLiveCapture } from './live-capture-bench.js';
import { benchPackageSizes } from './package-sizes.js';
import { benchRetroCost } from './retro-cost.js';
import { benchConsole } from './console-bench.js';
import { benchOrgIsolation } from './org-isolation.js';
import { benchIntelligentPcap } from './intelligent-pcap.js';
import { replayFiles } from '../agent/pipeline/replay-files.js';
import { benchMetadataOverhead, benchPipelineWithMetadata } from './app-meta-bench.js';
import { makeBrowsingCapture } from './make-browsing-capture.js';
import { benchAppEvents } from './app-events-bench.js';
import { benchDgaEval } from './dga-eval.js';
import { repoRoot, referencePcapsDir } from '../shared/util/repo-paths.js';
import { benchScaleOut, coresNeeded } from './scale-out.js';
import { benchPgViews } from './pg-views-bench.js';

const json = process.argv.includes('--json');
const packetsArg = process.argv.find((a) => a.startsWith('--packets='));
const TARGET_PACKETS = packetsArg ? Number(packetsArg.slice('--packets='.length)) : 2_000_000;
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
/** rounds of the whole-process comparison (argus, import, replay in turn; bench/alternated-rounds.ts) */
const WHOLE_ROUNDS = roundsArg ? Math.max(1, Number(roundsArg.slice('--rounds='.length)) | 0) : 5;

async function main(): Promise<void> {
  const report = new BenchReport(json);
  const outDir = join(repoRoot(), 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const log = (s: string): void => { if (!json) process.stderr.write(s + '\n'); };

  log(`building the benchmark capture (${TARGET_PACKETS} packets from ../shared/pcaps traces, cached in bench/out)`);
  const cap = makeBenchCapture(outDir, TARGET_PACKETS);
  log(`capture: ${cap.file} (${cap.packets} packets, ${(cap.bytes / 1e6).toFixed(0)} MB)`);

  log('argus -r on the same capture (reference)');
  const argus = timeArgus(cap.file);
  const argusPps = argus ? cap.packets / argus.cpuSeconds : undefined;
  const argusRef = argusPps ? { name: 'argus -r', value: argusPps } : undefined;
  if (argus) report.add({ name: 'argus -r (reference)', value: argusPps!, unit: 'packets/s per core', note: `${argus.cpuSeconds.toFixed(2)} s CPU` });

  // --- agent: decode, anonymize, whole replay pipeline, dump size ---
  log('decoder alone');
  const dec = await benchDecode(join(referencePcapsDir(), 'zeek', 'echo-connections.pcap'), 2);
  report.add({ name: 'decode', value: (dec.seconds / dec.packets) * 1e9, unit: 'ns/packet', target: 'part of the 1 µs/packet pipeline budget' });

  log('anonymization');
  const an = benchAnonymize();
  report.add({ name: 'anonymize IPv4 record, cache hit', value: an.hitNsPerRecord, unit: 'ns/record' });
  report.add({ name: 'anonymize IPv4 address, cache miss', value: an.missNsPerAddress, unit: 'ns/address' });

  log('replay pipeline (read + decode + exclude + anonymize + encode + compress + write)');
  const keyDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-key-'));
  initOwnerKeys(join(keyDir, 'owner'));
  const ownerKey = join(keyDir, 'owner', 'anon.key');
  const dumpDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-dumps-'));
  const rep = await cpuSeconds(() => replayFiles([cap.file], { outDir: dumpDir, anonymize: 'internal', keyFile: ownerKey, packetsPerDump: 20_000, snapLen: 0 }));
  const kept = rep.result.dumps.reduce((a, d) => a + d.packets, 0);
  const dumpBytes = rep.result.dumps.reduce((a, d) => a + d.bytes, 0);
  report.add({ name: 'replay pipeline (metadata extraction on, the default)', value: rep.result.stats.packetsSeen / rep.cpu, unit: 'packets/s per core', reference: argusRef, target: '>= 1,000,000' });
  report.add({ name: 'dump size, header-only', value: dumpBytes / kept, unit: 'bytes/packet', target: '<= 15 (Mongoose ~75)' });

  log(`whole processes on the same capture as argus -r, in ${WHOLE_ROUNDS} alternated rounds (argus, import, replay in turn): meerkat-collector import (default analyzers, SQLite) and meerkat-agent replay, each through its shipped launcher and bundle, start-up included`);
  const wholeDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-whole-'));
  try {
    const t = alternateRounds([
      argusRoundCommand(cap.file, wholeDir),
      wholeCommand('import', 'import', repoRoot(), join(wholeDir, 'flows.db'), cap.file, ownerKey),
      wholeCommand('replay', 'replay', repoRoot(), join(wholeDir, 'dumps'), cap.file, ownerKey),
      // the import's parts: the same import without the analyzers, and without them and the metadata extraction
      wholeCommand('import', 'import, no analyzers', repoRoot(), join(wholeDir, 'no-analyze.db'), cap.file, ownerKey, undefined, NO_ANALYZE),
      wholeCommand('import', 'import, core', repoRoot(), join(wholeDir, 'core.db'), cap.file, ownerKey, undefined, CORE_ONLY),
    ], WHOLE_ROUNDS, (r, cpu) => log(`  round ${r + 1}: argus ${cpu.argus!.toFixed(2)} s, import ${cpu.import!.toFixed(2)} s, replay ${cpu.replay!.toFixed(2)} s, ` +
      `import without analyzers ${cpu['import, no analyzers']!.toFixed(2)} s, without analyzers and metadata ${cpu['import, core']!.toFixed(2)} s CPU`));
    const argusCpu = cpuOf(t.argus!);
    const impCpu = cpuOf(t.import!);
    const repCpu = cpuOf(t.replay!);
    const wall = (x: { wallSeconds: number }[]): string => `${median(x.map((v) => v.wallSeconds)).toFixed(1)} s wall`;
    const impRatio = roundRatios(impCpu, argusCpu);
    report.add({
      name: 'meerkat-collector import, whole process (median of rounds)', value: median(impCpu), unit: 'CPU s',
      reference: { name: 'argus -r, same rounds', value: median(argusCpu) }, target: '<= argus -r',
      note: `per-round import / argus ${span(impRatio)}; ${(cap.packets / median(impCpu) / 1e6).toFixed(2)} M packets/s per core; ${wall(t.import!)}`,
    });
    const coreCpu = cpuOf(t['import, core']!);
    const parts = partsCost(impCpu, cpuOf(t['import, no analyzers']!), coreCpu);
    report.add({
      name: 'meerkat-collector import --no-analyze --no-metadata, whole process (median of rounds)', value: median(coreCpu), unit: 'CPU s',
      reference: { name: 'argus -r, same rounds', value: median(argusCpu) },
      note: `the flow core alone (read, decode, anonymize, flows, SQLite, start-up): per-round / argus ${span(roundRatios(coreCpu, argusCpu))}; ` +
        `of the default import the analyzers are ${span(parts.analyzers)} s, the metadata extraction ${span(parts.metadata)} s (differences per round)`,
    });
    const repPps = repCpu.map((c) => cap.packets / c);
    report.add({
      name: 'meerkat-agent replay, whole process (median of rounds)', value: median(repPps), unit: 'packets/s per core',
      reference: { name: 'argus -r, same rounds', value: cap.packets / median(argusCpu) }, target: '>= 1,500,000',
      note: `${span(repCpu)} s CPU; per-round replay / argus CPU ${span(roundRatios(repCpu, argusCpu))}; ${wall(t.replay!)}`,
    });
  } catch (e) {
    log(`whole processes: ${(e as Error).message}`);
  } finally {
    rmSync(wholeDir, { recursive: true, force: true });
  }

  log('application metadata: replay pipeline with extraction off and on (alternating runs), dump bytes it adds');
  const pm = await benchPipelineWithMetadata(cap.file, ownerKey, 3);
  report.add({ name: 'replay pipeline, metadata extraction on (median of 3)', value: median(pm.on), unit: 'packets/s per core', reference: { name: 'extraction off', value: median(pm.off) }, target: '>= 1,000,000' });
  const browsing = makeBrowsingCapture(outDir, 400);
  const [ob, on] = await benchMetadataOverhead([browsing.file, join(referencePcapsDir(), 'ndpi', 'netflix.pcap')], ownerKey);
  report.add({ name: 'metadata in the dump, browsing-like capture', value: ob!.overhead, unit: 'bytes/packet added', target: '<= 1', note: `${ob!.packets} packets, ${ob!.records} records; ${ob!.bytesPerPacketOff.toFixed(2)} -> ${ob!.bytesPerPacketOn.toFixed(2)} bytes/packet` });
  report.add({ name: 'metadata in the dump, ndpi/netflix.pcap (short app flows)', value: on!.overhead, unit: 'bytes/packet added', note: `${on!.packets} packets, ${on!.records} records` });

  log('one 20,000-packet dump');
  const recs = loadRecords(join(referencePcapsDir(), 'zeek', 'echo-connections.pcap')).slice(0, 20_000);
  const dump = benchDumpEncode(recs);
  report.add({ name: 'build one 20,000-packet dump', value: dump.msPerDump, unit: 'ms CPU', target: '<= 20' });
  report.add({ name: 'decode + validate one 20,000-packet dump', value: dump.decodeMsPerDump, unit: 'ms CPU' });

  await reportAgentMemory(report, log);

  log('live capture: tcpreplay floods a veth at top speed; the agent pipeline captures, tcpdump is the reference');
  try {
    const lc = await benchLiveCapture({ packets: 600_000 });
    const pct = (d: number, n: number): number => (n > 0 ? (100 * d) / n : 0);
    report.add({ name: 'live capture: offered rate (tcpreplay, this VM\'s ceiling)', value: lc.offeredPps, unit: 'packets/s', note: `${lc.offered} frames` });
    report.add({ name: 'live capture: agent pipeline kernel drops', value: pct(lc.agentDrops, lc.offered), unit: '%', note: `${lc.agentSeen} frames seen` });
    report.add({ name: 'live capture: tcpdump -w /dev/null kernel drops (reference)', value: pct(lc.tcpdumpDrops, lc.offered), unit: '%', note: `${lc.tcpdumpCaptured} frames captured` });
    // what the opt-in lean profile keeps up with: the share it captured of the offered rate
    const leanKept = lc.lean.offeredPps * Math.min(1, lc.lean.seen / lc.offered);
    report.add({ name: 'live capture, lean runtime (MEERKAT_AGENT_PROFILE=lean): packets/s kept up with', value: leanKept, unit: 'packets/s', note: `${pct(lc.lean.drops, lc.offered).toFixed(0)} % kernel drops at ${Math.round(lc.lean.offeredPps)} packets/s offered; the default fast profile keeps the JIT` });
  } catch (e) {
    log(`live capture: not measured (${(e as Error).message.split('\n')[0]}); needs root, network namespaces and tcpreplay`);
  }

  // --- collector: ingest over mutual TLS ---
  log('collector ingest (TLS receive, validate, decompress, commit)');
  const ing = await benchIngest();
  report.add({ name: 'collector ingest', value: ing.dumpsPerSec, unit: 'dumps/s', target: '>= 83 (10,000 agents / 2 min)' });
  report.add({ name: 'collector ingest', value: ing.packetsPerSec, unit: 'packets/s' });
  report.add({ name: 'collector CPU per 20,000-packet dump', value: ing.cpuMsPerDump, unit: 'ms' });
  report.add({ name: 'agents supported at 1 dump / 2 min', value: ing.agentsSupportedAt2Min, unit: 'agents', target: '10,000' });

  // --- collector: flows ---
  log('per-packet floor: the bare work of a flow table on the same capture, in JavaScript and compiled (bench/per-packet-floor.ts)');
  const floorDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-floor-'));
  try {
    const built = buildWasmFloor(floorDir);
    const passes = (run: () => number): number[] => Array.from({ length: 3 }, run);
    const js = passes(() => floorJs(cap.file).cpuSeconds);
    const floorNote = (s: number[]): string => `first pass ${s[0]!.toFixed(3)} s, later passes ${s.slice(1).map((x) => x.toFixed(3)).join(', ')} s CPU; not Meerkat's pipeline: its lower bound`;
    report.add({ name: 'per-packet floor, JavaScript (median of 3 passes)', value: cap.packets / median(js), unit: 'packets/s per core', reference: argusRef, note: floorNote(js) });
    if ('wasm' in built) {
      const wasm: number[] = [];
      for (let i = 0; i < 3; i++) wasm.push((await floorWasm(cap.file, built.wasm)).cpuSeconds);
      report.add({ name: 'per-packet floor, compiled to wasm32 (median of 3 passes)', value: cap.packets / median(wasm), unit: 'packets/s per core', reference: argusRef, note: floorNote(wasm) });
    } else {
      log(`  compiled floor not measured: ${built.reason}`);
    }
  } finally {
    rmSync(floorDir, { recursive: true, force: true });
  }

  log('flow engine (records in memory -> flows)');
  const flowRecs = loadRecords(join(referencePcapsDir(), 'zeek', 'echo-connections.pcap'), 4);
  const fl = benchFlows(flowRecs, 2);
  report.add({ name: 'flow engine alone (records in memory)', value: fl.packetsPerSec, unit: 'packets/s per core', reference: argusRef, target: 'faster than argus' });

  log('capture -> flows (read + decode + flow engine), what argus -r does');
  const c2f = benchCaptureToFlows(cap.file);
  report.add({ name: 'capture -> flows (read, decode, flows)', value: c2f.packetsPerCpuSec, unit: 'packets/s per core', reference: argusRef, target: 'faster than argus' });

  log('dump files -> flows committed in SQLite');
  const dumps = readdirSync(dumpDir).filter((f) => f.endsWith('.mkd')).sort().map((f) => join(dumpDir, f));
  const dbDir = mkdtempSync(join(tmpdir(), 'meerkat-bench-db-'));
  const st = await cpuSeconds(() => benchDumpToStore(dumps, join(dbDir, 'flows.db')));
  report.add({ name: 'dump -> flows -> SQLite', value: kept / st.cpu, unit: 'packets/s per core', reference: argusRef });

  log('analyzers on the flow stream (all built-ins; then with a 1,000,000-entry blacklist)');
  const an2 = await benchAnalyzers();
  report.add({ name: 'analyzers, all built-ins', value: an2.flowsPerSecAll, unit: 'flows/s per core' });
  report.add({ name: 'analyzers in a worker thread (live collector), long-lived', value: an2.live.worker, unit: 'flows/s per core', reference: { name: 'in-process, same passes', value: an2.live.inProcess }, target: '>= 85 % of in-process' });
  report.add({ name: `analyzers with a ${an2.blacklistEntries.toLocaleString('en-US')}-entry blacklist`, value: an2.flowsPerSecBigBlacklist, unit: 'flows/s per core' });

  log('alert quality: precision and recall per analyzer on the labelled scenario captures (meerkat-collector import path)');
  const q = await measureAlertQuality();
  for (const a of q.analyzers) {
    if (a.labels === 0 && a.rows === 0) continue;
    const pct = (x: number | null): string => (x === null ? '-' : `${Math.round(x * 100)} %`);
    report.add({ name: `alert precision, ${a.analyzer}`, value: (a.precision ?? 0) * 100, unit: '%',
      note: `recall ${pct(a.recall)} (${a.detected}/${a.labels} labels), ${a.truePositives} true / ${a.falsePositives} false alert rows, ${a.attributed} named their host` });
  }

  log('DNS / TLS / HTTP events: dumps with metadata into flows and logs, then through the built-in analyzers (in-process and in a worker)');
  const ev = await benchAppEvents();
  report.add({ name: 'dump -> flows + DNS/TLS logs -> SQLite, browsing capture with metadata', value: ev.ingestPacketsPerSec, unit: 'packets/s per core', reference: { name: 'same capture, no metadata', value: ev.ingestNoMetaPacketsPerSec } });
  report.add({ name: 'dns/tls/http events through the analyzers, in-process', value: ev.inProcessEventsPerSec, unit: 'events/s per core', note: `${ev.events.dns} DNS, ${ev.events.tls} TLS, ${ev.events.http} HTTP per pass; threat-intel with a 100,000-domain feed, dga` });
  report.add({ name: 'dns/tls/http events through the analyzers, in a worker (live collector)', value: ev.workerEventsPerSec, unit: 'events/s', note: 'wall clock until the worker has finished them' });

  log('DGA classifier: held-out precision and recall (the shipped model; 5-fold cross-validation over the top-sites list)');
  const dg = benchDgaEval(5);
  report.add({ name: 'DGA classifier, shipped model: recall on held-out DGA names', value: dg.shipped.recall, unit: 'share', target: '>= 0.90',
    note: Object.entries(dg.shipped.families).map(([f, v]) => `${f} ${v.recall.toFixed(3)}`).join(', ') });
  report.add({ name: 'DGA classifier, shipped model: precision', value: dg.shipped.precision, unit: 'share', target: '>= 0.99', note: `${dg.shipped.falsePositives} of ${dg.shipped.benign} held-out benign names called DGA` });
  report.add({ name: 'DGA classifier, 5-fold: precision at equal class sizes', value: dg.crossValidated.balancedPrecision, unit: 'share', target: '>= 0.99',
    note: `${dg.crossValidated.falsePositives} of ${dg.crossValidated.benign} benign names called DGA; recall ${dg.crossValidated.recall.toFixed(3)}` });

  log('organisations: one flooding (within its dumps/s quota, then beyond it) - the other\'s ack and alert latency (real collector process)');
  try {
    const oi = await benchOrgIsolation({ samples: 100 });
    const rate = (f: { accepted: number; refused: number; seconds: number }): string => `flood: ${(f.accepted / f.seconds).toFixed(1)} dumps/s accepted, ${(f.refused / f.seconds).toFixed(0)}/s refused (quota ${oi.quota}/s, ${oi.floodAgents} agents)`;
    report.add({ name: 'ack latency of an organisation, the other idle: p50', value: oi.idle.p50Ms, unit: 'ms', note: `p95 ${oi.idle.p95Ms.toFixed(1)} ms` });
    report.add({ name: 'ack latency of an organisation, the other flooding within its quota: p50', value: oi.within.p50Ms, unit: 'ms', reference: { name: 'the other idle', value: oi.idle.p50Ms }, note: `p95 ${oi.within.p95Ms.toFixed(1)} ms; ${rate(oi.within.flood)}` });
    report.add({ name: 'ack latency of an organisation, the other flooding beyond its quota: p50', value: oi.beyond.p50Ms, unit: 'ms', reference: { name: 'the other idle', value: oi.idle.p50Ms }, note: `p95 ${oi.beyond.p95Ms.toFixed(1)} ms; ${rate(oi.beyond.flood)}` });
    const al = oi.alerts;
    const alertNote = (x: { p95Ms: number; maxMs: number; samples: number }): string => `p95 ${x.p95Ms.toFixed(0)} ms, max ${x.maxMs.toFixed(0)} ms over ${x.samples} new alerts (upload -> alert row)`;
    report.add({ name: 'alert latency of an organisation, the other idle: p50', value: al.idle.p50Ms, unit: 'ms', note: alertNote(al.idle) });
    report.add({ name: 'alert latency of an organisation, the other flooding within its quota: p50', value: al.within.p50Ms, unit: 'ms', reference: { name: 'the other idle', value: al.idle.p50Ms }, note: alertNote(al.within) });
    report.add({ name: 'alert latency of an organisation, the other flooding beyond its quota: p50', value: al.beyond.p50Ms, unit: 'ms', reference: { name: 'the other idle', value: al.idle.p50Ms }, note: alertNote(al.beyond) });
  } catch (e) {
    log(`organisations: not measured (${(e as Error).message.split('\n')[0]})`);
  }

  log('alert latency: packet to a blacklisted address on the wire -> alert in the store (real agent and collector in namespaces)');
  try {
    const lat = await benchAlertLatency({ samples: 20 });
    report.add({ name: 'alert latency p50', value: lat.p50Ms, unit: 'ms', note: `${lat.samples} samples, ${lat.missed} missed` });
    report.add({ name: 'alert latency p95', value: lat.p95Ms, unit: 'ms', target: '< 5000' });
  } catch (e) {
    log(`alert latency: not measured (${(e as Error).message.split('\n')[0]}); needs root and network namespaces`);
  }
  log('alert latency for listed domains: DNS query on the wire -> alert in the store (metadata, watchlist name hit, early dump)');
  try {
    const lat = await benchDomainAlertLatency({ samples: 20 });
    report.add({ name: 'alert latency p50, listed domain looked up', value: lat.p50Ms, unit: 'ms', note: `${lat.samples} samples, ${lat.missed} missed` });
    report.add({ name: 'alert latency p95, listed domain looked up', value: lat.p95Ms, unit: 'ms', target: '< 5000' });
  } catch (e) {
    log(`domain alert latency: not measured (${(e as Error).message.split('\n')[0]}); needs root and network namespaces`);
  }

  // --- packages: what an endpoint downloads ---
  log('packages (npm run package with release compression: agent .deb, .rpm, setup.exe, collector .deb)');
  try {
    const ps = await benchPackageSizes(outDir);
    const names: Record<string, string> = { 'agent-deb': 'agent package .deb', 'agent-rpm': 'agent package .rpm', 'agent-exe': 'agent package setup.exe (Windows)', 'collector-deb': 'collector package .deb' };
    for (const p of ps.packages) {
      report.add({ name: names[p.kind]!, value: p.bytes / 1048576, unit: 'MB', ...(p.kind === 'agent-deb' ? { target: '< 40' } : {}), note: `built in ${p.seconds.toFixed(0)} s` });
    }
    report.add({ name: 'agent installed size (Linux)', value: ps.agentInstalledMb, unit: 'MB', note: 'of which the stripped node binary ~82 MB' });
  } catch (e) {
    log(`packages: not measured (${(e as Error).message.split('\n')[0]}); scripts/setup.sh installs the packaging tools`);
  }

  log('intelligent packet capture: hours of generated mixed traffic with three malicious episodes through agent (retro ring) and collector (analyzers, responses)');
  for (const r of await benchIntelligentPcap({ hours: 8, ringSeconds: [300, 1800], log })) {
    const tag = `ring ${r.ringSeconds} s`;
    if (r.ringSeconds === 300) {
      report.add({ name: 'intelligent capture: bytes on the wire', value: r.wireBytes / 1e6, unit: 'MB', note: `${r.packets} packets in ${r.hours.toFixed(1)} h` });
      report.add({ name: 'intelligent capture: full capture (tcpdump -w)', value: r.fullCaptureBytes / 1e6, unit: 'MB' });
      report.add({ name: 'retro ring: disk bytes written per packet (this mixed traffic)', value: r.ring.bytesWritten / r.ring.packetsAdded, unit: 'bytes/packet', note: `mean frame ${(r.wireBytes / r.packets).toFixed(0)} bytes; snapLen 1600, brotli 1, AES-GCM` });
    }
    report.add({ name: `intelligent capture, ${tag}: dumps stored`, value: r.storedDumpBytes / 1e6, unit: 'MB', note: `${(r.retroDumpBytes / 1e3).toFixed(1)} kB retro; collector database ${(r.databaseBytes / 1e6).toFixed(2)} MB` });
    report.add({ name: `intelligent capture, ${tag}: payload bytes kept`, value: r.payloadBytesKept / 1e6, unit: 'MB' });
    report.add({ name: `intelligent capture, ${tag}: reduction against tcpdump -w`, value: r.reductionFactor, unit: 'x', target: '>= 50', note: `with the database: ${(r.fullCaptureBytes / (r.storedDumpBytes + r.databaseBytes)).toFixed(1)} x` });
    report.add({
      name: `intelligent capture, ${tag}: malicious packets kept whole`, value: r.maliciousWholeShare * 100, unit: '%', target: '100',
      note: r.episodes.map((e) => `${e.name} ${e.whole}/${e.packets} (retro ${e.viaRetro}, alert after ${e.alertAfterSec ?? '-'} s)`).join('; '),
    });
  }

  log('web console: the flows, alerts and overview queries with 1,000,000 flows and 10,000 alerts; the page bundle');
  const cb = await benchConsole({ log });
  for (const q of cb.queries) {
    report.add({ name: `console ${q.name}`, value: q.p95, unit: 'ms (p95)', target: q.name.startsWith('flows') ? '< 200' : q.name.startsWith('overview') ? '< 1000 (first page)' : '< 200', note: `p50 ${q.p50.toFixed(1)} ms, ${q.rows} rows` });
  }
  if (cb.jsGzipBytes !== null) report.add({ name: 'console page JavaScript (gzip)', value: cb.jsGzipBytes / 1024, unit: 'KB', target: '< 300', note: `with CSS ${((cb.bundleGzipBytes ?? 0) / 1024).toFixed(1)} KB` });
  if (cb.page) {
    report.add({ name: 'console first page interactive (login form, chromium, loopback)', value: cb.page.loginForm.p95, unit: 'ms (p95)', target: '< 1000', note: `p50 ${cb.page.loginForm.p50.toFixed(0)} ms, ${cb.page.runs} fresh profiles` });
    report.add({ name: 'console log in -> overview drawn (1,000,000 flows)', value: cb.page.overview.p95, unit: 'ms (p95)', target: '< 1000', note: `p50 ${cb.page.overview.p50.toFixed(0)} ms; of which the login request (scrypt) p50 ${cb.page.loginRequest.p50.toFixed(0)} ms; navigation to overview less typing p95 ${cb.page.firstPage.p95.toFixed(0)} ms` });
    report.add({ name: 'console overview drawn, session open (fresh profile, chromium, loopback)', value: cb.page.returning.p95, unit: 'ms (p95)', target: '< 1000', note: `p50 ${cb.page.returning.p50.toFixed(0)} ms` });
  }

  log('retro ring cost: the shipped agent at 20,000 packets/s with the ring off and on (alternating), and with whole 64 KiB packets');
  try {
    const rc = await benchRetroCost({ seconds: 10, rate: 20_000, rounds: 2, log });
    report.add({ name: 'agent CPU at 20,000 packets/s, retro ring on', value: rc.cpuOn, unit: '% of a core', reference: { name: 'ring off', value: rc.cpuOff }, target: 'within 10 % of ring off' });
    report.add({ name: 'agent peak RSS at 20,000 packets/s, retro ring on', value: rc.rssOn, unit: 'MB', reference: { name: 'ring off', value: rc.rssOff }, target: '+5 MB at most' });
    report.add({ name: 'retro ring: disk bytes written per packet', value: rc.diskBytesPerPacket, unit: 'bytes/packet', note: 'the bench traffic: 32-byte UDP payloads' });
    if (rc.whole) report.add({ name: 'agent peak RSS, retro ring keeping whole 64 KiB packets (snapLen 65535)', value: rc.whole.peak.rssMb, unit: 'MB', note: `CPU ${rc.whole.cpuPercent.toFixed(0)} %, kernel drops ${rc.whole.kernelDrops}` });
  } catch (e) {
    log(`retro ring cost: not measured (${(e as Error).message.split('\n')[0]}); needs root and network namespaces`);
  }

  log('scale-out: single SQLite process vs front-end -> JetStream -> 1 and 2 workers -> PostgreSQL (docs/scale-out.md)');
  try {
    const runs = await benchScaleOut({ agents: 100, dumpsPerAgent: 17, packetsPerDump: 100 });
    for (const r of runs) {
      const cpu = Object.entries(r.cpuMsPerDump).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      report.add({ name: `ingest: ${r.name}`, value: r.dumpsPerSec, unit: 'dumps/s', reference: { name: 'single process, SQLite', value: runs[0]!.dumpsPerSec }, note: `${r.packetsPerSec.toFixed(0)} packets/s; CPU ms/dump: ${cpu}${r.dumpsPerCommit !== undefined ? `; ${r.dumpsPerCommit.toFixed(1)} dumps per commit` : ''}` });
    }
    const c = coresNeeded(runs[1]!, 833);
    report.add({ name: 'scale-out: worker cores for 833 dumps/s (100,000 agents, one dump per 2 min)', value: c.workers, unit: 'cores', note: `PostgreSQL ${c.postgres.toFixed(2)} cores, NATS ${c.nats.toFixed(2)} cores (100-packet dumps)` });
  } catch (e) {
    log(`scale-out: not measured (${(e as Error).message.split('\n')[0]}); needs nats-server and PostgreSQL (scripts/setup.sh)`);
  }

  log('scale-out console views: the overview, the flow summary and prefix filters over 1,000,000 flows in PostgreSQL (docs/scale-out.md "Measured")');
  try {
    const pv = await benchPgViews({ runs: 5, log });
    for (const q of pv.queries) {
      report.add({ name: `scale-out console ${q.name}`, value: q.p50, unit: 'ms (p50)', target: q.name.includes('24 h') ? undefined : '< 1000', note: `max ${q.max.toFixed(0)} ms, ${q.rows} rows` });
    }
  } catch (e) {
    log(`scale-out console views: not measured (${(e as Error).message.split('\n')[0]}); needs PostgreSQL (scripts/setup.sh)`);
  }

  rmSync(dumpDir, { recursive: true, force: true });
  rmSync(dbDir, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });

  if (json) process.stdout.write(report.toJson() + '\n');
  else process.stdout.write('\n' + report.toTable() + '\n');
}

await main();
