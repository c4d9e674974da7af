// Export requests: the query string the console sends is the one the operators' API parses; bad
// parameters are refused naming the parameter; a flow uid or Community ID resolves to the flow's
// tuples, agent and time span (narrowed by since/until).
import assert from 'node:assert/strict';
import { exportRequestFromQuery, exportRequestToQuery, resolveSelection, type ExportRequest } from '../../../shared/pcap-export/export-request.js';
import { SelectionError } from '../../../shared/pcap-export/packet-selection.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';

const A = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';

function flow(o: Partial<FlowRecord>): FlowRecord {
  return {
    uid: 'Cabc', record_seq: 0, community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', agent_id: A, proto: 'tcp', ip_proto: 6, ip_version: 4,
    orig_addr: '10.1.2.3', orig_port: 40000, resp_addr: '198.51.100.7', resp_port: 443, vlan: 0, flow_start: 100, start: 100, end: 200,
    orig_anon: true, resp_anon: false, ...o,
  } as FlowRecord;
}

describe('export requests', () => {
  it('round-trips through the query string', () => {
    const r: ExportRequest = { agentId: A, sinceUs: 1, untilUs: 2_000_000_000_000_000, peer: '10.77.0.0/16', port: 443, format: 'dump', maxPackets: 5 };
    assert.deepEqual(exportRequestFromQuery(new URLSearchParams(exportRequestToQuery(r)), 10), r);
    assert.equal(exportRequestFromQuery(new URLSearchParams(`agent=${A}&since=1&until=2&peer=10.1.2.3*`), 10).peer, '10.1.2.3');
  });

  it('refuses bad parameters, naming them', () => {
    const bad: [string, RegExp][] = [
      ['agent=nope', /agent must be/],
      [`agent=${A}&since=-1`, /since must be a whole number/],
      [`agent=${A}&port=70000`, /port must be/],
      [`agent=${A}&peer=10.1.2.3/8`, /without host bits/],
      [`agent=${A}&peer=host.example`, /peer: expected/],
      [`agent=${A}&format=pcap`, /format must be/],
      [`agent=${A}&flow=a%20b`, /flow must be/],
      [`agent=${A}&community=xyz`, /Community ID/],
      [`agent=${A}&max-packets=11`, /max-packets must be/],
      [`agent=${A}&colour=red`, /unknown parameter "colour"/],
    ];
    for (const [q, re] of bad) assert.throws(() => exportRequestFromQuery(new URLSearchParams(q), 10), (e: unknown) => e instanceof SelectionError && re.test(e.message), q);
  });

  it('resolves a flow to its agent, tuples and time span; since/until narrow it', () => {
    const recs = [flow({}), flow({ record_seq: 1, start: 200, end: 900 })];
    const s = resolveSelection({ flowUid: 'Cabc', format: 'pcapng' }, () => recs);
    assert.equal(s.agentId, A);
    assert.equal(s.sinceUs, 100);
    assert.equal(s.untilUs, 900);
    assert.equal(s.flows!.length, 1);
    assert.equal(resolveSelection({ flowUid: 'Cabc', sinceUs: 150, untilUs: 5000, format: 'pcapng' }, () => recs).sinceUs, 150);
    assert.equal(resolveSelection({ flowUid: 'Cabc', sinceUs: 150, untilUs: 5000, format: 'pcapng' }, () => recs).untilUs, 900);
    assert.throws(() => resolveSelection({ flowUid: 'Cx', format: 'pcapng' }, () => []), /no flow record for flow Cx/);
    assert.throws(() => resolveSelection({ agentId: '7c2d8e90-1f3a-4b5c-9d6e-7f8a9b0c1d2e', flowUid: 'Cabc', format: 'pcapng' }, () => recs), /belongs to agent/);
    assert.throws(() => resolveSelection({ agentId: A, format: 'pcapng' }, () => []), /since and until/);
    assert.throws(() => resolveSelection({ sinceUs: 1, untilUs: 2, format: 'pcapng' }, () => []), /name the agent/);
    assert.throws(() => resolveSelection({ agentId: A, sinceUs: 3, untilUs: 2, format: 'pcapng' }, () => []), /after until/);
  });
});
