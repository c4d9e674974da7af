// The DNS / TLS log filter grammar shared by `meerkat dns|tls` and GET /v1/dns|tls: what it
// accepts, and that anything else is a UsageError naming the option (fuzzed: never another error).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appLogFilterFrom } from '../../../shared/store/app-log-filter.js';
import { UsageError } from '../../../shared/cli/run-cli.js';

describe('DNS / TLS log filter', () => {
  it('turns options into a filter: addresses normalised, rcode by name or number, suffix names, times', () => {
    const now = Date.UTC(2024, 0, 2);
    assert.deepEqual(appLogFilterFrom({ addr: '2001:DB8:0:0::1', rcode: 'nxdomain', nameSuffix: 'Example.com', since: '2h', limit: 5 }, now),
      { addr: '2001:db8::1', rcode: 3, name: 'Example.com', nameSuffix: true, since: (now - 7_200_000) * 1000, limit: 5 });
    assert.deepEqual(appLogFilterFrom({ rcode: '2', name: 'a.example', ja4: 'x', agent: 'a', uid: 'F1', until: '1700000000' }),
      { rcode: 2, name: 'a.example', ja4: 'x', agentId: 'a', uid: 'F1', until: 1_700_000_000_000_000 });
    for (const bad of [{ rcode: 'WHAT' }, { rcode: '5000' }, { addr: 'nope' }, { since: 'yesterday-ish' }, { name: 'a', nameSuffix: 'b' }]) {
      assert.throws(() => appLogFilterFrom(bad), UsageError, JSON.stringify(bad));
    }
  });

  it('any text in any option: a filter or a UsageError, nothing else', () => {
    const opt = fc.option(fc.string({ maxLength: 40 }), { nil: undefined });
    fc.assert(fc.property(fc.record({ agent: opt, addr: opt, name: opt, nameSuffix: opt, uid: opt, since: opt, until: opt, rcode: opt, ja4: opt }), (o) => {
      const clean = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      try {
        appLogFilterFrom(clean);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
      }
    }), { numRuns: 500 });
  });
});
