// A user analyzer that never returns, in a real `meerkat-collector run` process, while two
// agents (the real shipper, mutual TLS) upload real dumps: one agent's dumps are a real SYN scan
// capture, the other's ordinary traffic. The endless analyzer is stopped at its hard limit and
// reported (log line, metric, health, an "analyzer" alert), restarted, then disabled; every
// upload of both agents is acked and stored meanwhile, and the built-in scan analyzer's alert
// still arrives.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Shipper } from '../../agent/transport/shipper.js';
import { DumpWriter } from '../../shared/dump/dump-writer.js';
import { openCaptureFile } from '../../shared/capture-file/open-capture-file.js';
import { decodePacket } from '../../shared/decode/decode-packet.js';
import { DecodedPacket } from '../../shared/decode/decoded-packet.js';
import { referencePcapsDir, repoRoot } from '../../shared/util/repo-paths.js';
import { issueAgent, makeDump, makeTestPki, MemSpool, metricFromText, orgDbPath, storedDumps, tmpDir, waitFor, type AgentCreds } from '../helpers/transport-rig.js';
import { freePort, waitExit, waitHttpOk } from '../helpers/processes.js';
import { collectorProgramArgs } from '../helpers/node-script.js';

const STALL_MS = 500;
const MAX_STALLS = 3;
const ANON_KEY_ID = '0123456789abcdef';

/** The SYN scan capture as dumps of `per` packets each, for one agent. */
function scanDumps(agentId: string, per: number): Uint8Array[] {
  const reader = openCaptureFile(join(referencePcapsDir(), 'ndpi', 'synscan.pcap'));
  const pkt = new DecodedPacket();
  const out: Uint8Array[] = [];
  let w = new DumpWriter({ agentId, anonKeyId: ANON_KEY_ID, snapLen: 0 });
  try {
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      decodePacket(fr.linkType, fr.data, fr.wireLen, fr.tsUs, pkt);
      w.add(pkt);
      if (w.count >= per) {
        out.push(w.finish(out.length + 1));
        w = new DumpWriter({ agentId, anonKeyId: ANON_KEY_ID, snapLen: 0 });
      }
    }
  } finally {
    reader.close();
  }
  if (w.count > 0) out.push(w.finish(out.length + 1));
  return out;
}

interface Agent {
  creds: AgentCreds;
  spool: MemSpool;
  shipper: Shipper;
  putAt: Map<number, number>;
  /** per ack: wall time and ms since the dump was put in the spool */
  acks: Array<{ at: number; ms: number }>;
}

function startAgent(creds: AgentCreds, port: number): Agent {
  const spool = new MemSpool();
  const shipper = new Shipper({ collectorUrl: `https://localhost:${port}`, agentId: creds.agentId, credentials: () => creds, spool, window: 2, backoff: { initialMs: 50, maxMs: 500 } });
  const a: Agent = { creds, spool, shipper, putAt: new Map(), acks: [] };
  shipper.on('ack', (seq: number) => {
    const t = a.putAt.get(seq);
    if (t !== undefined) a.acks.push({ at: Date.now(), ms: Date.now() - t });
  });
  shipper.start();
  return a;
}

function put(a: Agent, seq: number, dump: Uint8Array): void {
  a.spool.dumps.set(seq, dump);
  a.putAt.set(seq, Date.now());
  a.shipper.notify();
}

describe('system: an analyzer that never returns cannot stall the collector', function () {
  this.timeout(180_000);
  let root: string;
  let collector: ChildProcess | undefined;
  let stderr = '';
  const agents: Agent[] = [];

  after(async () => {
    await Promise.all(agents.map((a) => a.shipper.stop()));
    if (collector && collector.exitCode === null) collector.kill('SIGKILL');
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('stopped, reported, restarted then disabled; uploads of every agent acked; the scan alert still arrives', async () => {
    root = tmpDir('stall');
    const stateDir = join(root, 'state');
    const tp = makeTestPki(root, undefined, undefined, { stateDir });
    const port = await freePort();
    const opsPort = await freePort();
    const cfgFile = join(root, 'collector.json');
    writeFileSync(cfgFile, JSON.stringify({
      stateDir, pkiDir: tp.dir, listen: `127.0.0.1:${port}`, ops: `127.0.0.1:${opsPort}`,
      api: 'off', logLevel: 'info',
      analyzers: [{ module: join(repoRoot(), 'test', 'collector', 'analyze', 'fixtures', 'never-returns.js') }],
      analysis: { budget: { stallMs: STALL_MS, maxStalls: MAX_STALLS } },
    }));
    collector = spawn(process.execPath, [...collectorProgramArgs(), 'run', '--config', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    collector.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    await waitHttpOk(`http://127.0.0.1:${opsPort}/healthz`, 30_000, collector, () => stderr.slice(-3000));
    assert.match(stderr, /"msg":"analyzers: threat-intel, sensitive-ports, machine-exceptions, scan, beacon, volume, machine-signature, [^"]*never-returns\.js"/);

    const scanner = startAgent(issueAgent(tp), port);
    const other = startAgent(issueAgent(tp), port);
    agents.push(scanner, other);
    const scan = scanDumps(scanner.creds.agentId, 200);
    // both agents upload for a while: a dump each every 150 ms. A restarted worker sees only
    // flows made after it started, so the other agent goes on uploading until the analyzer has
    // stalled its last time (on a loaded machine a worker's restart takes seconds), at most 60 s
    const disabled = (): boolean => /"msg":"analyzer stalled: worker terminated"/.test(stderr) && stderr.includes('"action":"disabled"');
    let produced = 0;
    const until = Date.now() + 60_000;
    for (let i = 0; i < Math.max(scan.length, 30) || (!disabled() && Date.now() < until); i++) {
      if (i < scan.length) { put(scanner, i + 1, scan[i]!); produced++; }
      put(other, i + 1, makeDump(other.creds.agentId, i + 1, i * 97, 150));
      produced++;
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitFor(() => agents.every((a) => a.spool.dumps.size === 0), 60_000, 'every upload acked');
    const acked = agents.reduce((s, a) => s + a.acks.length, 0);
    assert.equal(acked, produced);
    assert.equal(storedDumps(stateDir).length, produced, 'every dump stored');
    // after each agent's first upload (connection set-up), acks came quickly throughout
    const ackMs = agents.flatMap((a) => a.acks.slice(1).map((x) => x.ms)).sort((x, y) => x - y);
    const medianAck = ackMs[ackMs.length >> 1]!;
    const slowestAck = ackMs[ackMs.length - 1]!;
    assert.ok(slowestAck < 3000, `slowest ack ${slowestAck} ms`);

    await waitFor(disabled, 10_000, 'the endless analyzer to be disabled');
    const lines = stderr.split('\n').filter((l) => l.includes('analyzer stalled: worker terminated')).map((l) => JSON.parse(l) as { time: string; analyzer: string; hook: string; limitMs: number; stalls: number; action: string });
    assert.deepEqual(lines.map((l) => [l.analyzer, l.hook, l.limitMs, l.stalls, l.action]),
      [...Array.from({ length: MAX_STALLS - 1 }, (_, i) => ['never-returns', 'onFlow', STALL_MS, i + 1, 'restarted']), ['never-returns', 'onFlow', STALL_MS, MAX_STALLS, 'disabled']]);
    // uploads were acked while the analyzer was stalling (between its first and its last stall)
    const firstStall = Date.parse(lines[0]!.time) - STALL_MS;
    const lastStall = Date.parse(lines[lines.length - 1]!.time);
    const during = agents.flatMap((a) => a.acks).filter((x) => x.at >= firstStall && x.at <= lastStall).length;
    assert.ok(during > 0, 'acks while the analyzer stalled');

    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    assert.equal(metricFromText(metrics, 'meerkat_collector_analyzer_stalls_total', { analyzer: 'never-returns' }), MAX_STALLS);
    assert.equal(metricFromText(metrics, 'meerkat_collector_analyzer_enabled', { analyzer: 'never-returns' }), 0);
    assert.equal(metricFromText(metrics, 'meerkat_collector_analyzer_enabled', { analyzer: 'scan' }), 1);
    const health = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
    const h = (await health.json()) as { status: string; reasons: string[]; notes: string[] };
    assert.equal(health.status, 503);
    assert.equal(h.status, 'degraded');
    assert.ok(h.reasons.some((r) => /analyzer never-returns stalled .* in onFlow \(3 of 3\): disabled/.test(r)), JSON.stringify(h));
    assert.ok(h.notes.some((n) => /analyzer never-returns disabled: stalled 3 times/.test(n)), JSON.stringify(h));

    // the other analyzers went on: the scan of the real capture is an alert in the database
    const db = orgDbPath(stateDir);
    type Row = { category: string; rule: string; agent_id: string; peer: string };
    const rows = (): Row[] => {
      const d = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return d.prepare('SELECT category, rule, agent_id, peer FROM alerts').all() as Row[];
      } finally {
        d.close();
      }
    };
    await waitFor(() => rows().some((r) => r.category === 'scan'), 30_000, 'the scan alert');
    const scanAlert = rows().find((r) => r.category === 'scan')!;
    assert.equal(scanAlert.agent_id, scanner.creds.agentId);
    assert.ok(rows().some((r) => r.category === 'analyzer' && r.rule === 'stalled' && r.peer === 'never-returns'));

    collector.kill('SIGTERM');
    assert.equal(await waitExit(collector, 30_000), 0, stderr.slice(-3000));
    collector = undefined;
    process.stderr.write(`      (${produced} dumps of 2 agents acked, ${during} of them between the first and the last stall; ack after put: median ${medianAck} ms, slowest ${slowestAck} ms; never-returns stalled ${MAX_STALLS} times at ${STALL_MS} ms)\n`);
  });
});
