// Rate limits of automatic responses: the pure decisions, their memory in the collector
// database across a reopen, and a real `meerkat-collector run` restarted between two alerts
// of one agent: the per-agent limit of the first run still holds in the second.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { logger } from '../../../shared/log.js';
import { parseIp } from '../../../shared/net/ip-address.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import { DumpWriter } from '../../../shared/dump/dump-writer.js';
import type { StoredAlert } from '../../../shared/alerts/alert-types.js';
import { ResponseLimiter, ruleKey } from '../../../collector/respond/response-limiter.js';
import { ResponseEngine } from '../../../collector/respond/response-engine.js';
import { parseResponsesConfig, type ResponseRuleInput } from '../../../collector/respond/response-config.js';
import { loadOrCreateResponseKey } from '../../../collector/respond/response-key.js';
import { Shipper } from '../../../agent/transport/shipper.js';
import { issueAgent, makeTestPki, MemSpool, orgDbPath, tmpDir, waitFor } from '../../helpers/transport-rig.js';
import { freePort, waitExit, waitHttpOk } from '../../helpers/processes.js';
import { collectorProgramArgs } from '../../helpers/node-script.js';

const AGENT = '11111111-2222-4333-8444-555555555555';
const HOUR = 3_600_000;
const log = logger('test-response-limiter');
log.level = 'silent';

function alert(id: number, peer: string): StoredAlert {
  return {
    id, key: `k${id}`, agentId: AGENT, host: '', category: 'threat-intel', rule: 'ip:list', peer, analyzer: 'threat-intel', severity: 'high', state: 'open', summary: 's',
    count: 1, firstSeenUs: 1, lastSeenUs: 1, flowUid: null, communityId: null, flowUids: [], evidence: {}, suggestedResponse: null,
    createdUs: 1, updatedUs: 1, stateChangedUs: null,
  };
}

describe('responses: rate limiter', () => {
  it('decisions: in force, per agent per hour, per rule per hour; the hour slides', () => {
    const l = new ResponseLimiter();
    const lim = { perAgentPerHour: 2, globalPerHour: 3 };
    const t = 1_000_000;
    assert.equal(l.check('r', 'a', 'a|cap|p1', lim, t), 'ok');
    l.record('r', 'a', 'a|cap|p1', t + 600_000, t);
    assert.equal(l.check('r', 'a', 'a|cap|p1', lim, t + 1), 'active');
    assert.equal(l.check('r', 'a', 'a|cap|p1', lim, t + 600_001), 'ok', 'over once it ended');
    l.record('r', 'a', 'a|cap|p2', t + 1, t + 1);
    assert.equal(l.check('r', 'a', 'a|cap|p3', lim, t + 2), 'agent-limit');
    l.record('r', 'b', 'b|cap|p1', t + 2, t + 2);
    assert.equal(l.check('r', 'c', 'c|cap|p1', lim, t + 3), 'global-limit');
    assert.equal(l.check('other', 'a', 'a|cap|p9', lim, t + 3), 'ok', 'limits are per rule');
    assert.equal(l.check('r', 'a', 'a|cap|p3', lim, t + HOUR + 2), 'ok', 'an hour later');
  });

  it('a rule keeps its key when its rate limits change or the rules are reordered; a different command is another rule', () => {
    const [a, b] = parseResponsesConfig([
      { category: 'threat-intel', command: { type: 'capture-full', forSec: 600 }, rateLimit: { perAgentPerHour: 1 } },
      { category: 'threat-intel', command: { type: 'isolate', forSec: 60 } },
    ]);
    const [a2] = parseResponsesConfig([{ category: 'threat-intel', command: { type: 'capture-full', forSec: 600 }, rateLimit: { perAgentPerHour: 9 } }]);
    assert.equal(ruleKey(a!), ruleKey(a2!));
    assert.notEqual(ruleKey(a!), ruleKey(b!));
  });

  it('what was issued before is read back from the collector database when the engine opens again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-limits-'));
    try {
      const key = loadOrCreateResponseKey(join(dir, 'response-key')).key;
      const rule: ResponseRuleInput = { category: 'threat-intel', command: { type: 'capture-full', forSec: 600 }, rateLimit: { perAgentPerHour: 1 } };
      let now = Date.now();
      const open = (rules: ResponseRuleInput[]): ResponseEngine => new ResponseEngine({ dbPath: join(dir, 'meerkat.db'), rules: parseResponsesConfig(rules), key, log, now: () => now });
      const first = open([rule]);
      first.onChanges([{ kind: 'new', alert: alert(1, '203.0.113.1') }]);
      assert.equal(first.stats.issued, 1);
      first.close();
      // reopened, with another rule put before it: the same limits apply
      const second = open([{ category: 'scan', command: { type: 'isolate' } }, rule]);
      second.onChanges([{ kind: 'new', alert: alert(2, '203.0.113.1') }, { kind: 'new', alert: alert(3, '203.0.113.2') }]);
      assert.deepEqual(second.stats, { issued: 0, limited: 2, skipped: 0, errors: 0 });
      assert.deepEqual(second.audit.list({}).filter((e) => e.action === 'response.suppress').map((e) => e.outcome), ['active', 'agent-limit']);
      second.close();
      // an hour and more later the window has passed; the stale row is gone from the table
      now += HOUR + 600_000;
      const third = open([rule]);
      third.onChanges([{ kind: 'new', alert: alert(4, '203.0.113.2') }]);
      assert.equal(third.stats.issued, 1);
      third.close();
      const db = new Database(join(dir, 'meerkat.db'), { readonly: true });
      try {
        assert.equal((db.prepare('SELECT COUNT(*) AS n FROM control_response_issues').get() as { n: number }).n, 1);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('a real collector restarted between two alerts of one agent', function () {
    this.timeout(120_000);
    let root: string;
    let collector: ChildProcess | undefined;
    let stderr = '';
    let shipper: Shipper | undefined;

    after(async () => {
      await shipper?.stop();
      if (collector && collector.exitCode === null) collector.kill('SIGKILL');
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it('the per-agent limit of the first run holds in the second', async () => {
      root = tmpDir('limits-restart');
      const stateDir = join(root, 'state');
      // the collector's default organisation, whose CA signs the agent
      const tp = makeTestPki(root, ['localhost'], ['127.0.0.1'], { stateDir });
      const port = await freePort();
      const opsPort = await freePort();
      const listed = ['198.51.100.7', '198.51.100.8'];
      writeFileSync(join(root, 'feed.txt'), listed.join('\n') + '\n');
      const cfgFile = join(root, 'collector.json');
      writeFileSync(cfgFile, JSON.stringify({
        stateDir, pkiDir: tp.dir, listen: `127.0.0.1:${port}`, ops: `127.0.0.1:${opsPort}`, api: 'off', logLevel: 'info',
        analyzers: [{ builtin: 'threat-intel', config: { watch: false, feeds: [{ name: 'listed', path: join(root, 'feed.txt'), severity: 'high' }] } }],
        responses: [{ category: 'threat-intel', minSeverity: 'high', command: { type: 'capture-full', forSec: 600 }, rateLimit: { perAgentPerHour: 1 } }],
      }));
      const start = async (): Promise<void> => {
        stderr = '';
        collector = spawn(process.execPath, [...collectorProgramArgs(), 'run', '--config', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
        collector.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
        await waitHttpOk(`http://127.0.0.1:${opsPort}/healthz`, 30_000, collector, () => stderr.slice(-3000));
      };
      const stop = async (): Promise<void> => {
        collector!.kill('SIGTERM');
        assert.equal(await waitExit(collector!, 30_000), 0, stderr.slice(-3000));
        collector = undefined;
      };
      const creds = issueAgent(tp);
      const spool = new MemSpool();
      shipper = new Shipper({ collectorUrl: `https://localhost:${port}`, agentId: creds.agentId, credentials: () => creds, spool, window: 2, backoff: { initialMs: 50, maxMs: 300 } });
      shipper.start();
      /** one dump with a TCP SYN from an internal host to `peer` */
      const upload = async (seq: number, peer: string): Promise<void> => {
        const w = new DumpWriter({ agentId: creds.agentId, anonKeyId: '0123456789abcdef', snapLen: 0 });
        const r = new PacketRecord();
        r.reset();
        r.tsUs = Date.now() * 1000;
        r.ipVersion = 4;
        r.src.set(parseIp('10.1.2.3').bytes);
        r.dst.set(parseIp(peer).bytes);
        r.proto = 6;
        r.sport = 40_000 + seq;
        r.dport = 443;
        r.tcpFlags = 0x02;
        r.ipLen = 60;
        r.wireLen = 74;
        w.add(r);
        spool.dumps.set(seq, w.finish(seq));
        shipper!.notify();
        await waitFor(() => !spool.dumps.has(seq), 20_000, `dump ${seq} acked`);
      };
      const db = orgDbPath(stateDir);
      const audit = (): Array<{ action: string; outcome: string }> => {
        const d = new Database(db, { readonly: true, fileMustExist: true });
        try {
          return d.prepare("SELECT action, outcome FROM control_audit WHERE action LIKE 'response.%' ORDER BY seq").all() as Array<{ action: string; outcome: string }>;
        } finally {
          d.close();
        }
      };

      await start();
      await upload(1, listed[0]!);
      await waitFor(() => audit().length >= 1, 20_000, 'the first response decision');
      assert.deepEqual(audit(), [{ action: 'response.issue', outcome: 'queued' }]);
      await stop();

      await start();
      await upload(2, listed[1]!);
      await waitFor(() => audit().length >= 2, 20_000, 'the second response decision');
      assert.deepEqual(audit(), [{ action: 'response.issue', outcome: 'queued' }, { action: 'response.suppress', outcome: 'agent-limit' }]);
      await stop();
    });
  });
});
