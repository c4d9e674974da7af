// Response engine on a real control database: rule matching, signed commands that verify with
// the response key, per-agent rate limit, "already in force", and audit entries.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../../../shared/log.js';
import { verifyCommand } from '../../../shared/commands/command-signing.js';
import { ed25519PublicKeyObject } from '../../../shared/commands/operator-keys.js';
import { ResponseEngine } from '../../../collector/respond/response-engine.js';
import { parseResponsesConfig } from '../../../collector/respond/response-config.js';
import { loadOrCreateResponseKey } from '../../../collector/respond/response-key.js';
import type { StoredAlert } from '../../../shared/alerts/alert-types.js';

const AGENT = '11111111-2222-4333-8444-555555555555';

function alert(id: number, peer: string, severity: StoredAlert['severity'] = 'high', category = 'threat-intel'): StoredAlert {
  return {
    id, key: `k${id}`, agentId: AGENT, host: '', category, rule: 'ip:list', peer, analyzer: 'threat-intel', severity, state: 'open', summary: 's',
    count: 1, firstSeenUs: 1, lastSeenUs: 1, flowUid: null, communityId: null, flowUids: [], evidence: {}, suggestedResponse: null,
    createdUs: 1, updatedUs: 1, stateChangedUs: null,
  };
}

describe('responses: engine', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-resp-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('issues signed capture commands within the rate limit and audits every decision', () => {
    const rk = loadOrCreateResponseKey(join(dir, 'response-key'));
    assert.equal(rk.created, true);
    assert.equal(loadOrCreateResponseKey(join(dir, 'response-key')).key.keyId, rk.key.keyId, 'the key is kept');
    const rules = parseResponsesConfig([{ category: 'threat-intel', command: { type: 'capture-full', forSec: 600 }, rateLimit: { perAgentPerHour: 2 } }]);
    const e = new ResponseEngine({ dbPath: join(dir, 'meerkat.db'), rules, key: rk.key, log: logger('test') });
    try {
      e.onChanges([
        { kind: 'new', alert: alert(1, '203.0.113.1') },
        { kind: 'new', alert: alert(2, '203.0.113.1') }, // same peer: in force
        { kind: 'new', alert: alert(3, '203.0.113.2', 'low') }, // below minSeverity
        { kind: 'new', alert: alert(4, '203.0.113.3', 'high', 'scan') }, // other category
        { kind: 'repeat', alert: alert(5, '203.0.113.4') }, // repeats never respond
        { kind: 'new', alert: alert(6, '203.0.113.5') },
        { kind: 'new', alert: alert(7, '203.0.113.6') }, // third for this agent: limited
      ]);
      const cmds = e.queue.list({}).reverse();
      assert.deepEqual(cmds.map((c) => c.envelope.params.peer), ['203.0.113.1', '203.0.113.5']);
      const keys = new Map([[rk.key.keyId, ed25519PublicKeyObject(rk.key.publicKey)]]);
      for (const c of cmds) {
        const v = verifyCommand(c.envelope, { agentId: AGENT, nowMs: Date.now(), keys });
        assert.equal(v.ok, true);
        assert.equal(c.kind, 'capture.peer');
        assert.equal(c.envelope.params.forMs, 600_000);
      }
      const audit = e.audit.list({});
      assert.equal(audit.filter((a) => a.action === 'response.issue').length, 2);
      assert.deepEqual(audit.filter((a) => a.action === 'response.suppress').map((a) => a.outcome), ['active', 'agent-limit']);
      assert.deepEqual(e.stats, { issued: 2, limited: 2, skipped: 0, errors: 0 });
    } finally {
      e.close();
    }
  });

  it('retro capture from any analyzer: beacons from their first beacon, scores above a threshold, expiry, no-peer alerts', () => {
    const rk = loadOrCreateResponseKey(join(dir, 'response-key'));
    const rules = parseResponsesConfig([
      { category: 'beacon', minSeverity: 'medium', minScore: 0.9, command: { type: 'capture-retro', beforeSec: 120 }, expiresSec: 600 },
      { category: 'scan', minSeverity: 'medium', command: { type: 'capture-retro' } },
      { category: 'signature', minSeverity: 'medium', minScore: 0.8, command: { type: 'capture-retro', beforeSec: 60, scope: 'host' } },
      { category: 'threat-intel', command: { type: 'capture-retro' } },
    ]);
    const now = 1_900_000_000_000;
    const e = new ResponseEngine({ dbPath: join(dir, 'meerkat.db'), rules, key: rk.key, log: logger('test'), now: () => now });
    try {
      const beacon = { ...alert(1, '203.0.113.9', 'high', 'beacon'), firstSeenUs: (now - 10_000) * 1000, evidence: { score: 0.97, firstUs: (now - 1_200_000) * 1000 } };
      const weak = { ...alert(2, '203.0.113.10', 'high', 'beacon'), evidence: { score: 0.85 } };
      const scan = { ...alert(3, '10.9.8.7', 'medium', 'scan'), firstSeenUs: (now - 5_000) * 1000 };
      const sig = { ...alert(4, '', 'medium', 'signature'), firstSeenUs: (now - 30_000) * 1000, evidence: { score: 0.93 } };
      const sigLow = { ...alert(5, '', 'medium', 'signature'), evidence: { score: 0.4 } };
      const ti = { ...alert(6, '', 'high', 'threat-intel') };
      e.onChanges([beacon, weak, scan, sig, sigLow, ti].map((a) => ({ kind: 'new' as const, alert: a })));
      e.onChanges([{ kind: 'escalated', alert: { ...beacon, id: 7 } }]); // the same peer again: its window is being pulled
      const cmds = e.queue.list({}).reverse();
      assert.deepEqual(cmds.map((c) => c.kind), ['capture.retro', 'capture.retro', 'capture.retro']);
      const [b, sc, sg] = cmds.map((c) => c.envelope);
      // the beacon's window opens before its first beacon, not before the alert
      assert.deepEqual(b!.params, { peer: '203.0.113.9', sinceMs: now - 1_200_000 - 120_000, untilMs: now + 600_000 });
      assert.equal(b!.expiresAt - b!.issuedAt, 600_000);
      assert.deepEqual(sc!.params, { peer: '10.9.8.7', sinceMs: now - 5_000 - 300_000, untilMs: now + 900_000 });
      assert.deepEqual(sg!.params, { sinceMs: now - 30_000 - 60_000, untilMs: now + 900_000 }, 'no peer: the whole host, as the rule allows');
      const keys = new Map([[rk.key.keyId, ed25519PublicKeyObject(rk.key.publicKey)]]);
      for (const c of cmds) assert.equal(verifyCommand(c.envelope, { agentId: AGENT, nowMs: now, keys }).ok, true);
      const audit = e.audit.list({});
      assert.deepEqual(audit.filter((a) => a.action === 'response.skip').map((a) => a.outcome), ['no-peer'], 'threat-intel alert without a peer');
      assert.deepEqual(audit.filter((a) => a.action === 'response.suppress').map((a) => a.outcome), ['active']);
    } finally {
      e.close();
    }
  });
});
