// Floods against the real collector program: hundreds of enrollments with bogus tokens from
// one address (refused 429 once the address used up its refusals, while an enrollment from
// another address still works), hundreds of hostile uploads from one agent and of refused
// connections - and in every case a handful of log lines plus one summary, not one line per
// refusal. Every log line is parsed strictly (one JSON object, each key once).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { EnrollTokenStore } from '../../../certs/enroll-tokens.js';
import { createAgentCsr } from '../../../certs/agent-csr.js';
import { ENROLL_PATH, encodeUploadFrame } from '../../../shared/protocol/agent-protocol.js';
import { issueAgent, makeTestPki, metricFromText, sharedAgentKey, tmpDir, type TestPki } from '../../helpers/transport-rig.js';
import { CollectorProcess } from '../../helpers/processes.js';
import { RawAgent } from '../../helpers/raw-agent.js';

const FLOOD = 300;
const BURST = 20;
// refills per second of refused enrollments: slow, so that a loaded machine's pause between the
// flood and the next request (seen: over a second in a full CI run) does not refill the bucket
const REFILL_PER_SEC = 0.2;

/** POST /v1/enroll from `from` (a loopback address); resolves with the status and the JSON body. */
function enroll(port: number, ca: string, from: string, token: string, csr: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify({ token, csr });
    const req = request({
      host: '127.0.0.1', port, path: ENROLL_PATH, method: 'POST', servername: 'localhost', ca, localAddress: from, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function bogusToken(fingerprint: string): string {
  return `mk1.${randomBytes(32).toString('base64url')}.${fingerprint}`;
}

describe('transport: floods become a few log lines, not one per refusal (real collector process)', function () {
  let root: string;
  let tp: TestPki;
  let collector: CollectorProcess;
  let stateDir: string;
  let fingerprint: string;

  before(async function () {
    this.timeout(60_000);
    root = tmpDir('flood');
    stateDir = join(root, 'state');
    tp = makeTestPki(root, undefined, undefined, { stateDir });
    fingerprint = tp.caFingerprint;
    collector = await CollectorProcess.start(join(root, 'collector.json'), {
      stateDir, pkiDir: tp.dir, limits: { enrollFailuresPerSec: REFILL_PER_SEC, enrollFailureBurst: BURST },
    });
  });
  after(() => {
    collector?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it(`${FLOOD} bogus enrollment tokens from one address: 429 after its ${BURST} refusals; another address still enrolls`, async function () {
    this.timeout(120_000);
    const csr = createAgentCsr(sharedAgentKey());
    const statuses = new Map<number, number>();
    const t0 = Date.now();
    for (let i = 0; i < FLOOD; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => enroll(collector.port, tp.pki.ca.certPem, '127.0.0.1', bogusToken(fingerprint), csr)));
      for (const r of batch) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    const seconds = (Date.now() - t0) / 1000;
    const limited = statuses.get(429) ?? 0;
    const answered = FLOOD - limited;
    // answered in full: the burst plus what refilled while the flood ran
    assert.ok(answered >= BURST && answered <= BURST + Math.ceil(seconds * REFILL_PER_SEC) + 1, `answered ${answered} of ${FLOOD} in ${seconds.toFixed(1)} s: ${JSON.stringify([...statuses])}`);
    assert.equal(statuses.get(403) ?? 0, answered, 'the answered ones were refused as unknown tokens');

    // the flooding address is held back even with a good token; another address is not
    const tokens = EnrollTokenStore.open(stateDir);
    const good = tokens.create({ uses: 2, expiresInSec: 3600, caFingerprint: fingerprint }).token;
    tokens.close();
    const blocked = await enroll(collector.port, tp.pki.ca.certPem, '127.0.0.1', good, csr);
    assert.equal(blocked.status, 429);
    assert.match(String(blocked.body.message), /retry in \d+ s/);
    const other = await enroll(collector.port, tp.pki.ca.certPem, '127.0.0.2', good, csr);
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.match(String(other.body.agentId), /^[0-9a-f-]{36}$/);

    const metrics = await (await fetch(`http://127.0.0.1:${collector.opsPort}/metrics`)).text();
    assert.equal(metricFromText(metrics, 'meerkat_collector_enrollments_total', { result: 'rate-limited' }), limited + 1);
    const lines = collector.logLines().filter((l) => l.msg === 'enrollment refused');
    assert.ok(lines.length <= 5, `${lines.length} enrollment refusal lines for ${FLOOD + 1} refusals`);
    assert.ok(lines.every((l) => l.remote === '127.0.0.1'));
    process.stderr.write(`      (${FLOOD} bogus tokens in ${seconds.toFixed(1)} s: ${answered} answered 403, ${limited} answered 429; ${lines.length} log lines so far; 127.0.0.2 enrolled)\n`);
  });

  it(`${FLOOD} hostile uploads and ${FLOOD} refused connections: a few lines each, then a summary at the interval's end (here: at stop)`, async function () {
    this.timeout(120_000);
    const agent = issueAgent(tp);
    const a = await RawAgent.connect(collector.port, agent);
    await a.next('welcome');
    for (let s = 1; s <= FLOOD; s++) a.upload(s, randomBytes(200));
    for (let s = 1; s <= FLOOD; s++) assert.equal((await a.next('nack')).code, 'malformed');
    a.close();
    for (let i = 0; i < FLOOD; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => new Promise<void>((resolve) => {
        const s = netConnect(collector.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      })));
    }
    const text = await (await fetch(`http://127.0.0.1:${collector.opsPort}/metrics`)).text();
    assert.equal(metricFromText(text, 'meerkat_collector_nacks_total', { code: 'malformed' }), FLOOD, 'every refusal is counted');
    assert.ok(metricFromText(text, 'meerkat_collector_refusals_total', { reason: 'plain-http' }) >= FLOOD);
    assert.equal(await collector.stop(), 0, collector.stderr.slice(-2000));

    const all = collector.logLines();
    const uploads = all.filter((l) => l.msg === 'upload rejected');
    const conns = all.filter((l) => l.msg === 'connection refused');
    const summaries = all.filter((l) => typeof l.msg === 'string' && l.msg.includes('repeated refusals not logged one by one'));
    assert.ok(uploads.length <= 5, `${uploads.length} upload lines for ${FLOOD} nacks`);
    assert.ok(conns.length <= 5, `${conns.length} connection lines for ${FLOOD} refusals`);
    const bySource = new Map(summaries.map((l) => [l.source, l]));
    assert.equal((bySource.get(agent.agentId)?.suppressed as number) + uploads.length, FLOOD, 'the summary counts the nacks not logged');
    const local = bySource.get('127.0.0.1') as { suppressed: number; byReason: Record<string, number> } | undefined;
    assert.ok(local && local.byReason['plain-http']! >= FLOOD - 5 && local.byReason['rate-limited']! > 0 && local.byReason['token-unknown']! > 0, JSON.stringify(local));
    process.stderr.write(`      (${all.length} log lines in all for ${2 * FLOOD + FLOOD + 1} refusals: ${uploads.length} upload, ${conns.length} connection, ` +
      `${all.filter((l) => l.msg === 'enrollment refused').length} enrollment lines, ${summaries.length} summaries)\n`);
    assert.ok(all.length < 40, `${all.length} log lines`);
  });
});
