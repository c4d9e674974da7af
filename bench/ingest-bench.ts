// Collector ingest benchmark: simulated agents (real mutual-TLS WebSocket connections, one
// certificate each) upload realistic 20,000-packet dumps to a collector running in its own
// process; we measure wall-clock throughput and the collector's CPU per dump (from its own
// /metrics, so the simulated agents' CPU is not counted). agentsSupportedAt2Min is the
// number of agents one collector core keeps up with when each ships one dump every 120 s
// (the default rotation): 120,000 ms / CPU ms per dump.
//
// The collector child is this same module started with --ingest-collector-child <config>.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { openCaptureFile } from '../shared/capture-file/index.js';
import { decodePacket, DecodedPacket } from '../shared/decode/index.js';
import { PacketRecord } from '../shared/packet/packet-record.js';
import { DumpWriter } from '../shared/dump/dump-writer.js';
import { compressionKind, encodeHeader, keyIdToBytes, readDumpHeader, uuidToBytes } from '../shared/dump/dump-header.js';
import { referencePcapsDir } from '../shared/util/repo-paths.js';
import { initPki, loadPki, type LoadedPki } from '../certs/pki-dir.js';
import { createAgentCsr, generateAgentKey } from '../certs/agent-csr.js';
import { signAgentCsr } from '../certs/issue-certificates.js';
import { privateKeyPem } from '../certs/rsa-signer.js';
import { Shipper, type ShipperSpool } from '../agent/transport/shipper.js';
import { freePort, waitHttpOk } from '../test/helpers/processes.js';

export interface IngestBenchResult {
  dumpsPerSec: number;
  packetsPerSec: number;
  cpuMsPerDump: number;
  agentsSupportedAt2Min: number;
}

export interface IngestBenchOptions {
  agents?: number;
  dumpsPerAgent?: number;
  packetsPerDump?: number;
}

const CHILD_FLAG = '--ingest-collector-child';

/** 20,000 (or n) packet records decoded from a real trace. */
function loadRecords(n: number): PacketRecord[] {
  const r = openCaptureFile(join(referencePcapsDir(), 'zeek', 'echo-connections.pcap'));
  const out: PacketRecord[] = [];
  const d = new DecodedPacket();
  try {
    for (let f = r.next(); f && out.length < n; f = r.next()) {
      decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, d);
      if (d.ipVersion === 0) continue;
      out.push(new PacketRecord().copyFrom(d));
    }
  } finally {
    r.close();
  }
  return out;
}

/** The same dump body under another agent id and sequence (a fresh header, checksummed). */
function reHead(base: Uint8Array, agentId: string, seq: number): Uint8Array {
  const h = readDumpHeader(base);
  const out = base.slice();
  encodeHeader(out, {
    agentId: uuidToBytes(agentId),
    anonKeyId: keyIdToBytes(h.anonKeyId),
    sequence: seq,
    firstTsUs: h.firstTsUs,
    lastTsUs: h.lastTsUs,
    packetCount: h.packetCount,
    tupleCount: h.tupleCount,
    linkType: h.linkType,
    snapLen: h.snapLen,
    compression: compressionKind(h.compression),
    compressionLevel: base[77]!, // not part of DumpHeader; byte 77 per docs/dump-format.md
    flags: h.flags,
    uncompressedSize: h.uncompressedSize,
    compressedSize: h.compressedSize,
    bodyCrc32: h.bodyCrc32,
  });
  return out;
}

/** In-memory spool; shows nothing until armed, so connecting and uploading are measured apart. */
class ArraySpool implements ShipperSpool {
  readonly m = new Map<number, Uint8Array>();
  armed = false;
  list(): number[] { return this.armed ? [...this.m.keys()] : []; }
  read(seq: number): Uint8Array { return this.m.get(seq)!; }
  remove(seq: number): void { this.m.delete(seq); }
}

/**
 * A metric's value in Prometheus text, summed over its series (labelled, e.g. by
 * organisation, or not); NaN when the text has none.
 */
export function metricValue(text: string, name: string): number {
  let sum = NaN;
  for (const l of text.split('\n')) {
    if (!l.startsWith(name + ' ') && !l.startsWith(name + '{')) continue;
    const v = Number(l.slice(l.lastIndexOf(' ') + 1));
    sum = Number.isNaN(sum) ? v : sum + v;
  }
  return sum;
}

async function scrape(opsPort: number, name: string): Promise<number> {
  return metricValue(await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text(), name);
}

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`ingest bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function spawnCollector(cfg: object): ChildProcess {
  const self = fileURLToPath(import.meta.url);
  const args = self.endsWith('.ts') ? ['--import', 'tsx', self] : [self];
  return spawn(process.execPath, [...args, CHILD_FLAG, JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, MEERKAT_LOG_LEVEL: 'warn' } });
}

export async function benchIngest(opts: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const agents = opts.agents ?? 50;
  const dumpsPerAgent = opts.dumpsPerAgent ?? 8;
  const packetsPerDump = opts.packetsPerDump ?? 20_000;
  const root = mkdtempSync(join(tmpdir(), 'meerkat-ingest-bench-'));
  let child: ChildProcess | undefined;
  const shippers: Shipper[] = [];
  try {
    initPki(join(root, 'pki'), { serverNames: ['localhost'], serverIps: ['127.0.0.1'] });
    const pki: LoadedPki = loadPki(join(root, 'pki'));
    const key = generateAgentKey(2048);
    const keyPem = privateKeyPem(key);
    const csr = createAgentCsr(key);
    const recs = loadRecords(packetsPerDump);
    const w = new DumpWriter({ agentId: randomUUID(), anonKeyId: '0123456789abcdef', snapLen: 0 });
    for (const r of recs) w.add(r);
    const base = w.finish(0);
    const packets = readDumpHeader(base).packetCount;

    const port = await freePort();
    const opsPort = await freePort();
    child = spawnCollector({ pkiDir: join(root, 'pki'), stateDir: join(root, 'state'), port, opsPort });
    await waitHttpOk(`http://127.0.0.1:${opsPort}/healthz`, 30_000, child);

    const spools: ArraySpool[] = [];
    let remaining = agents * dumpsPerAgent;
    for (let i = 0; i < agents; i++) {
      const agentId = randomUUID();
      const cert = signAgentCsr(pki.ca, csr, agentId).certPem;
      const spool = new ArraySpool();
      for (let s = 1; s <= dumpsPerAgent; s++) spool.m.set(s, reHead(base, agentId, s));
      spools.push(spool);
      const sh = new Shipper({ collectorUrl: `https://localhost:${port}`, agentId, credentials: () => ({ key: keyPem, cert, ca: pki.ca.certPem }), spool, window: 2 });
      shippers.push(sh);
      sh.on('ack', () => { remaining--; });
      sh.start();
    }
    // connections first, so the measurement is ingest (handshakes are not the steady state)
    await waitUntil(async () => (await scrape(opsPort, 'meerkat_collector_agents_connected')) === agents, 60_000, 'all agents connected');
    const cpu0 = await scrape(opsPort, 'process_cpu_seconds_total');
    const t0 = process.hrtime.bigint();
    shippers.forEach((sh, i) => {
      spools[i]!.armed = true;
      sh.notify();
    });
    await waitUntil(() => remaining <= 0, 600_000, 'all dumps acked');
    const wallSec = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = await scrape(opsPort, 'process_cpu_seconds_total');
    const dumps = agents * dumpsPerAgent;
    const cpuMsPerDump = ((cpu1 - cpu0) * 1000) / dumps;
    return {
      dumpsPerSec: dumps / wallSec,
      packetsPerSec: (dumps * packets) / wallSec,
      cpuMsPerDump,
      agentsSupportedAt2Min: Math.floor(120_000 / cpuMsPerDump),
    };
  } finally {
    await Promise.all(shippers.map((s) => s.stop()));
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  }
}

async function childMain(cfgText: string): Promise<void> {
  const { CollectorServer } = await import('../collector/server/collector-server.js');
  const cfg = JSON.parse(cfgText) as { pkiDir: string; stateDir: string; port: number; opsPort: number };
  const server = await CollectorServer.start({
    pkiDir: cfg.pkiDir,
    stateDir: cfg.stateDir,
    listen: { host: '127.0.0.1', port: cfg.port },
    ops: { host: '127.0.0.1', port: cfg.opsPort },
    // no agent rate limit in the benchmark: we measure the collector, not the policy
    limits: { agentRateBytesPerSec: 1e12, agentBurstBytes: 1e12 },
  });
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

if (process.argv[2] === CHILD_FLAG) await childMain(process.argv[3]!);
