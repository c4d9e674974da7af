// The reference parsers and the matcher on small inline samples in each format,
// including damaged input (a named error, never a crash).
import assert from 'node:assert/strict';
import { parseZeekConnLog, ReferenceParseError } from '../../../tools/reference/parse-zeek-conn.js';
import { parseFlowTestYaml } from '../../../tools/reference/parse-flowtest.js';
import { parseNdpiOut } from '../../../tools/reference/parse-ndpi.js';
import { parseArkimeJson } from '../../../tools/reference/parse-arkime.js';
import { parseArgusCsv } from '../../../tools/reference/parse-argus.js';
import { matchFlows } from '../../../tools/reference/match-flows.js';
import { POLICIES } from '../../../tools/compare-reference.js';
import type { ComparableFlow } from '../../../tools/reference/reference-flow.js';

const ZEEK = [
  '#separator \\x09',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto',
  'XXXXXXXXXX.XXXXXX\tC1\t2001:DB8::1\t49186\t2001:db8::21\t57086\ttcp\tftp-data\t0.2\t0\t342\tSF\tF\tF\t0\tShAdfFa\t5\t372\t4\t642\t-\t6',
  'XXXXXXXXXX.XXXXXX\tC2\t10.0.0.1\t0\t10.0.0.2\t0\tunknown_transport\t-\t0.08\t0\t0\tOTH\tT\tT\t0\t-\t37\t33256\t37\t33524\t-\t132',
].join('\n');

function ours(over: Partial<ComparableFlow>): ComparableFlow {
  return { ipProto: 6, aAddr: '10.0.0.1', aPort: 1, bAddr: '10.0.0.2', bPort: 2, aPkts: 1, bPkts: 1, aBytes: 40, bBytes: 40,
    connState: 'SF', label: 'x', ...over };
}

describe('reference parsers', () => {
  it('Zeek conn.log: normalizes addresses, reads counters and states', () => {
    const f = parseZeekConnLog(ZEEK);
    assert.equal(f.length, 2);
    assert.deepEqual([f[0]!.aAddr, f[0]!.aPort, f[0]!.aPkts, f[0]!.bBytes, f[0]!.connState, f[0]!.history],
      ['2001:db8::1', 49186, 5, 642, 'SF', 'ShAdfFa']);
    assert.equal(f[1]!.ipProto, 132);
    assert.throws(() => parseZeekConnLog('a\tb\tc\n'), ReferenceParseError);
  });

  it('FlowTest YAML: the flows list', () => {
    const f = parseFlowTestYaml([
      'name: x', 'key: [src_ip]', 'flows:', '  - src_ip: 10.0.0.1', '    dst_ip: 10.0.0.2', '    protocol: 17',
      '    src_port: 5', '    dst_port: 6', '    packets: 4', '    packets@rev: 3', '    bytes: 504', '    bytes@rev: 5467',
      '  - src_ip: 10.0.0.3', '    dst_ip: 10.0.0.4', '    protocol: 1',
    ].join('\n'));
    assert.equal(f.length, 2);
    assert.deepEqual([f[0]!.aPort, f[0]!.bPkts, f[0]!.bBytes], [5, 3, 5467]);
    assert.throws(() => parseFlowTestYaml('flows:\n    bytes: 5\n'), ReferenceParseError);
  });

  it('nDPI and Argus text; Arkime JSON', () => {
    const n = parseNdpiOut('\t1\tTCP [2a00::1]:37506 <-> [2a03::70:1001]:443 [proto: 91/TLS][14 pkts/3969 bytes <-> 12 pkts/11648 bytes][x]\n' +
      'garbage line\n\t2\tICMP 1.1.1.1:0 -> 2.2.2.2:0 [proto: 81/ICMP][4 pkts/216 bytes -> 0 pkts/0 bytes]\n');
    assert.deepEqual(n.map((f) => [f.ipProto, f.aAddr, f.aPort, f.aPkts, f.bPkts]), [[6, '2a00::1', 37506, 14, 12], [1, '1.1.1.1', 0, 4, 0]]);
    const a = parseArgusCsv('StartTime,LastTime,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,SrcPkts,DstPkts,SrcBytes,DstBytes,State\n' +
      '1,2,tcp,10.0.0.1,1,->,10.0.0.2,2,3,4,5,6,CON\n1,2,34984,00:20:d2:5a:fb:3f,0,->,ff:ff:ff:ff:ff:ff,0,1,0,64,0,INT\n' +
      '1,2,icmp,10.0.0.1,0x0008,<->,10.0.0.2,0x0000,1,1,74,74,ECO\n');
    assert.deepEqual(a.map((f) => [f.ipProto, f.aPkts, f.bPkts, f.aPort]), [[6, 3, 4, 1], [1, 1, 1, 0]]);
    const k = parseArkimeJson('{"sessions3":[{"body":{"ipProtocol":17,"source":{"ip":"10.0.0.1","port":5,"packets":2},"destination":{"ip":"10.0.0.2","port":53,"packets":1}}}]}');
    assert.deepEqual([k[0]!.aPkts, k[0]!.bPkts, k[0]!.bPort], [2, 1, 53]);
    assert.throws(() => parseArkimeJson('{oops'), ReferenceParseError);
    assert.throws(() => parseArkimeJson('{}'), ReferenceParseError);
  });
});

describe('reference matcher', () => {
  it('Zeek: exact only, oriented, with bytes and state', () => {
    const ref = [ours({}), ours({ aPort: 3 })];
    const res = matchFlows(ref, [ours({}), ours({ aPort: 3, connState: 'S1' })], POLICIES.zeek);
    assert.deepEqual([res.flows, res.found, res.exact, res.aggregate, res.misses.length], [2, 2, 1, 0, 1]);
    // swapped orientation does not count for Zeek
    const swapped = ours({ aAddr: '10.0.0.2', aPort: 2, bAddr: '10.0.0.1', bPort: 1 });
    assert.equal(matchFlows([ours({})], [swapped], POLICIES.zeek).exact, 0);
  });

  it('others: either orientation, then sums of a key group', () => {
    const swapped = ours({ aAddr: '10.0.0.2', aPort: 2, bAddr: '10.0.0.1', bPort: 1, aPkts: 2, bPkts: 5, aBytes: null, bBytes: null });
    assert.equal(matchFlows([ours({ aPkts: 5, bPkts: 2, aBytes: null, bBytes: null })], [swapped], POLICIES.ndpi).exact, 1);
    // ICMP by addresses: two reference records (one per echo pair) against one flow of ours
    const icmp = (p: number) => ours({ ipProto: 1, aPort: 0, bPort: 0, aPkts: p, bPkts: p, aBytes: null, bBytes: null });
    const res = matchFlows([icmp(1), icmp(1)], [ours({ ipProto: 1, aPort: 8, bPort: 0, aPkts: 2, bPkts: 2 })], POLICIES.argus);
    assert.deepEqual([res.exact, res.aggregate, res.misses.length], [0, 2, 0]);
    const miss = matchFlows([icmp(3)], [ours({ ipProto: 1, aPort: 8, bPort: 0, aPkts: 2, bPkts: 2 })], POLICIES.argus);
    assert.equal(miss.misses.length, 1);
    assert.equal(matchFlows([ours({ bAddr: '9.9.9.9' })], [ours({})], POLICIES.argus).found, 0);
  });
});
