// An organisation's quota: dumps per second through a token bucket, bytes stored, agents;
// every refusal counted, and handed once to the audit summary.
import assert from 'node:assert/strict';
import { OrgQuota, mergeQuotas } from '../../../collector/orgs/org-quotas.js';

describe('organisations: quotas', () => {
  it('dumps per second: a burst, then the rate; refusals counted and reported once', () => {
    let t = 0;
    const q = new OrgQuota({ dumpsPerSec: 10, dumpsBurst: 5 }, t);
    const take = (n: number): number => { let ok = 0; for (let i = 0; i < n; i++) if (q.admitDump(t).ok) ok++; return ok; };
    assert.equal(take(20), 5, 'the burst');
    t += 1000;
    assert.equal(take(20), 5, 'a second refills up to the burst (never above it)');
    t += 300;
    assert.equal(take(20), 3);
    assert.equal(q.refused['dumps-rate'], 15 + 15 + 17);
    assert.deepEqual(q.takeUnreported(), { 'dumps-rate': 47 });
    assert.equal(q.takeUnreported(), null);
    // over a long run the accepted rate is the quota
    let accepted = 0;
    for (let ms = 0; ms < 10_000; ms += 10) { t += 10; if (q.admitDump(t).ok) accepted++; }
    assert.ok(accepted >= 99 && accepted <= 106, `${accepted} dumps in 10 s at 10/s`);
  });

  it('bytes stored: refused from the quota on, accepted again once retention made room', () => {
    const q = new OrgQuota({ bytesStored: 1000 });
    q.setStored(900);
    assert.ok(q.admitDump().ok);
    q.noteStored(200);
    const r = q.admitDump();
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'bytes-stored');
    q.setStored(100);
    assert.ok(q.admitDump().ok);
  });

  it('agents; no quota means no limit; defaults merged with the organisation\'s own, field by field', () => {
    const q = new OrgQuota({ agents: 2 });
    assert.ok(q.admitAgent(1).ok);
    assert.equal(q.admitAgent(2).ok, false);
    const free = new OrgQuota({});
    for (let i = 0; i < 1000; i++) assert.ok(free.admitDump().ok);
    assert.ok(free.admitAgent(1e6).ok);
    assert.deepEqual(mergeQuotas({ dumpsPerSec: 50, agents: 10 }, { agents: 3 }), { dumpsPerSec: 50, agents: 3 });
    assert.deepEqual(mergeQuotas(undefined, undefined), {});
  });
});
