// Packet amplification against the real collector program: one authenticated agent sends tiny
// dumps (about 200 bytes) that each declare a million packets - seconds of decoding and flow
// building per upload. The collector charges every dump's packets to the agent's packet
// bucket (limits.agentRatePacketsPerSec / agentBurstPackets) and refuses dumps above
// limits.maxDumpPackets, so the attacker gets no more than its packet rate of work, and the
// other agents' ack latency stays bounded. Figures (p50 / p95 / max, with and without the
// attacker) are printed.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DumpWriter, readDumpHeader } from '../../../shared/dump/index.js';
import { compressionKind, encodeHeader, keyIdToBytes, uuidToBytes } from '../../../shared/dump/dump-header.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import { issueAgent, makeDump, makeTestPki, tmpDir, type AgentCreds } from '../../helpers/transport-rig.js';
import { CollectorProcess } from '../../helpers/processes.js';
import { RawAgent } from '../../helpers/raw-agent.js';

const BIG = 1_000_000;
const RATE = 200_000;
const BURST = 1_000_000;

/** A dump of `packets` identical UDP packets 1 µs apart: brotli makes it a couple of hundred bytes. */
function amplifyingDump(agentId: string, packets: number): Uint8Array {
  const w = new DumpWriter({ agentId, anonKeyId: '0123456789abcdef', snapLen: 0 });
  const r = new PacketRecord();
  r.ipVersion = 4;
  r.proto = 17;
  r.src.set([198, 51, 100, 7]);
  r.dst.set([203, 0, 113, 9]);
  r.sport = 40000;
  r.dport = 53;
  r.ipLen = 60;
  r.wireLen = 74;
  r.payloadLen = 32;
  for (let i = 0; i < packets; i++) {
    r.tsUs = 1_700_000_000_000_000 + i;
    w.add(r);
  }
  return w.finish(1);
}

/** The same dump under another sequence number (header rewritten, checksums recomputed). */
function withSequence(dump: Uint8Array, sequence: number): Uint8Array {
  const h = readDumpHeader(dump);
  const out = dump.slice();
  encodeHeader(out, {
    agentId: uuidToBytes(h.agentId), anonKeyId: keyIdToBytes(h.anonKeyId), sequence, firstTsUs: h.firstTsUs, lastTsUs: h.lastTsUs,
    packetCount: h.packetCount, tupleCount: h.tupleCount, linkType: h.linkType, snapLen: h.snapLen,
    compression: compressionKind(h.compression), compressionLevel: 2, flags: h.flags, uncompressedSize: h.uncompressedSize,
    compressedSize: h.compressedSize, bodyCrc32: crc32(dump.subarray(96)),
  });
  return out;
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Polite { agent: RawAgent; creds: AgentCreds; seq: number }

/** Each polite agent uploads a 300-packet dump, waits for its ack, pauses 100 ms; latencies until `stop`. */
async function politeTraffic(agents: Polite[], until: () => boolean): Promise<number[]> {
  const lat: number[] = [];
  await Promise.all(agents.map(async (a) => {
    while (!until()) {
      const seq = ++a.seq;
      const d = makeDump(a.creds.agentId, seq, seq * 300, 300);
      const t = performance.now();
      a.agent.upload(seq, d);
      const ack = await a.agent.next('ack', 60_000);
      assert.equal(ack.seq, seq);
      lat.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
  }));
  return lat.sort((x, y) => x - y);
}

describe('transport: packet amplification from one agent (real collector process)', function () {
  let root: string;
  let collector: CollectorProcess | undefined;
  before(() => { root = tmpDir('amplify'); });
  after(() => {
    collector?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it('holds the attacker to its packet rate and keeps the other agents\' ack latency bounded', async function () {
    this.timeout(240_000);
    const tp = makeTestPki(root, undefined, undefined, { stateDir: join(root, 'state') });
    collector = await CollectorProcess.start(join(root, 'collector.json'), {
      stateDir: join(root, 'state'), pkiDir: tp.dir, logLevel: 'warn',
      limits: { maxDumpPackets: BIG, agentRatePacketsPerSec: RATE, agentBurstPackets: BURST },
    });
    const polite: Polite[] = [];
    for (let i = 0; i < 3; i++) {
      const creds = issueAgent(tp);
      const agent = await RawAgent.connect(collector.port, creds);
      await agent.next('welcome');
      polite.push({ agent, creds, seq: 0 });
    }

    // without the attacker
    let end = Date.now() + 6000;
    const calm = await politeTraffic(polite, () => Date.now() > end);

    // with it: 8 uploads outstanding all the time, a new one for every answer
    const attacker = issueAgent(tp);
    const base = amplifyingDump(attacker.agentId, BIG);
    const oversized = amplifyingDump(attacker.agentId, BIG + 1);
    const a = await RawAgent.connect(collector.port, attacker);
    await a.next('welcome');
    let aSeq = 0;
    let ackedPackets = 0;
    let nacks = 0;
    a.ws.on('message', (m: Buffer, bin: boolean) => {
      if (bin) return;
      const msg = JSON.parse(m.toString()) as { type: string };
      if (msg.type === 'ack') ackedPackets += BIG;
      else if (msg.type === 'nack') nacks++;
      else return;
      if (Date.now() < end) a.upload(++aSeq, withSequence(base, aSeq));
    });
    // over maxDumpPackets: refused before any decoding
    a.upload(++aSeq, withSequence(oversized, aSeq));
    const tooMany = await a.next('nack');
    assert.equal(tooMany.code, 'too-many-packets', tooMany.reason);
    assert.equal(tooMany.retry, false);
    nacks = 0;
    const t0 = Date.now();
    end = t0 + 15_000;
    for (let i = 0; i < 8; i++) a.upload(++aSeq, withSequence(base, aSeq));
    const attacked = await politeTraffic(polite, () => Date.now() > end);
    const seconds = (Date.now() - t0) / 1000;
    const sent = aSeq - 1;

    const fmt = (l: number[]): string => `p50 ${pct(l, 50).toFixed(0)} ms, p95 ${pct(l, 95).toFixed(0)} ms, max ${l[l.length - 1]!.toFixed(0)} ms (${l.length} acks)`;
    process.stderr.write(`      other agents' ack latency without the attacker: ${fmt(calm)}\n`);
    process.stderr.write(`      other agents' ack latency with the attacker:    ${fmt(attacked)}\n`);
    process.stderr.write(`      attacker: ${sent} dumps of ${BIG} packets (${base.length} B each) sent in ${seconds.toFixed(1)} s, ${ackedPackets / BIG} stored, ${nacks} nacked\n`);

    // the attacker's work is bounded by its bucket (one dump of slack for the one under way)
    assert.ok(ackedPackets <= BURST + RATE * seconds + BIG, `attacker stored ${ackedPackets} packets in ${seconds.toFixed(1)} s`);
    assert.ok(ackedPackets < sent * BIG, 'the attacker was held back');
    // every polite upload was answered, and the slowest stayed within about one big dump's work
    assert.ok(attacked.length >= 3 * 10, `polite agents kept being served (${attacked.length} acks in ${seconds.toFixed(1)} s)`);
    assert.ok(pct(attacked, 95) < 2500, `p95 under attack ${pct(attacked, 95).toFixed(0)} ms`);
    for (const p of polite) p.agent.close();
    a.close();
    assert.equal(await collector.stop(), 0, collector.stderr.slice(-2000));
    collector.logLines(); // every line one JSON object, each key once
  });
});
