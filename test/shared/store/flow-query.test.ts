import assert from 'node:assert/strict';
import { FlowEngine } from '../../../collector/flow/flow-engine.js';
import { makePacket } from '../../collector/flow/packet-script.js';
import { flowQueryFromParams, QueryError } from '../../../shared/store/flow-query.js';

const q = (text: string) => flowQueryFromParams(new URLSearchParams(text));

describe('flow query', () => {
  it('takes a flow uid as the flow engine makes it (prefix, dot, counter)', () => {
    const records: { uid: string }[] = [];
    const engine = new FlowEngine({ onRecord: (r) => records.push(r) });
    engine.add(makePacket({ tsUs: 1_700_000_000_000_000, src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 5000, dport: 53, payloadLen: 20 }));
    engine.flushAll();
    assert.ok(records.length === 1 && records[0]!.uid.includes('.'), JSON.stringify(records));
    assert.equal(q(`uid=${records[0]!.uid}`).filter.uid, records[0]!.uid);
    assert.throws(() => q('uid=a b'), QueryError);
  });

  it('takes a server name or a suffix, not both, and refuses what is not a DNS name', () => {
    assert.deepEqual(q('name=www.example.com').filter, { name: 'www.example.com' });
    assert.deepEqual(q('nameSuffix=example.com').filter, { name: 'example.com', nameSuffix: true });
    assert.throws(() => q('name=a.com&nameSuffix=b.com'), /give name or nameSuffix/);
    assert.throws(() => q('name=%3Cscript%3E'), /expected a DNS name/);
    assert.throws(() => q(`name=${'a'.repeat(254)}`), /expected a DNS name/);
  });
});
