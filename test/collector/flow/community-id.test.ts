// Community ID v1 against the published baseline (corelight/community-id-spec,
// baseline/baseline_deflt.json, seed 0). For ICMP the baseline lists the mapped
// "ports"; two-way types carry code 0, one-way types carry their code as dport.
import assert from 'node:assert/strict';
import { communityId } from '../../../collector/flow/community-id.js';
import { parseIp } from '../../../shared/net/ip-address.js';
import { Harness } from './packet-script.js';

interface Vector { proto: number; saddr: string; daddr: string; sport: number | null; dport: number | null; id: string }

const VECTORS: Vector[] = [
  { proto: 58, saddr: 'fe80::200:86ff:fe05:80da', daddr: 'fe80::260:97ff:fe07:69ea', sport: 135, dport: 136, id: '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=' },
  { proto: 58, saddr: 'fe80::260:97ff:fe07:69ea', daddr: 'fe80::200:86ff:fe05:80da', sport: 136, dport: 135, id: '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=' },
  { proto: 58, saddr: 'fe80::260:97ff:fe07:69ea', daddr: 'fe80::200:86ff:fe05:80da', sport: 135, dport: 136, id: '1:zavyT/cezQr1fmImYCwYnMXbgck=' },
  { proto: 58, saddr: 'fe80::200:86ff:fe05:80da', daddr: 'fe80::260:97ff:fe07:69ea', sport: 136, dport: 135, id: '1:zavyT/cezQr1fmImYCwYnMXbgck=' },
  { proto: 58, saddr: '3ffe:501:1800:2345::2', daddr: '3ffe:507:0:1:200:86ff:fe05:80da', sport: 3, dport: 0, id: '1:2ObVBgIn28oZvibYZhZMBgh7WdQ=' },
  { proto: 58, saddr: '3ffe:501:410:0:2c0:dfff:fe47:33e', daddr: '3ffe:507:0:1:200:86ff:fe05:80da', sport: 1, dport: 4, id: '1:hLZd0XGWojozrvxqE0dWB1iM6R0=' },
  { proto: 58, saddr: '3ffe:507:0:1:200:86ff:fe05:80da', daddr: '3ffe:501:0:1001::2', sport: 128, dport: 129, id: '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=' },
  { proto: 58, saddr: '3ffe:501:0:1001::2', daddr: '3ffe:507:0:1:200:86ff:fe05:80da', sport: 129, dport: 128, id: '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=' },
  { proto: 58, saddr: 'fe80::200:86ff:fe05:80da', daddr: 'ff02::2', sport: 133, dport: 134, id: '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=' },
  { proto: 58, saddr: 'fe80::260:97ff:fe07:69ea', daddr: 'ff02::1', sport: 134, dport: 133, id: '1:pkvHqCL88/tg1k4cPigmZXUtL00=' },
  { proto: 1, saddr: '192.168.0.89', daddr: '192.168.0.1', sport: 8, dport: 0, id: '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=' },
  { proto: 1, saddr: '192.168.0.1', daddr: '192.168.0.89', sport: 0, dport: 8, id: '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=' },
  { proto: 1, saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 11, dport: 0, id: '1:YHxtAirCG//0OzkcVAukqKQN9xM=' },
  { proto: 6, saddr: '2001:470:e5bf:dead:4957:2174:e82c:4887', daddr: '2607:f8b0:400c:c03::1a', sport: 63943, dport: 25, id: '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=' },
  { proto: 6, saddr: '2607:f8b0:400c:c03::1a', daddr: '2001:470:e5bf:dead:4957:2174:e82c:4887', sport: 25, dport: 63943, id: '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=' },
  { proto: 132, saddr: '192.168.170.8', daddr: '192.168.170.56', sport: 7, dport: 7, id: '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=' },
  { proto: 132, saddr: '192.168.170.56', daddr: '192.168.170.8', sport: 7, dport: 7, id: '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=' },
  { proto: 6, saddr: '128.232.110.120', daddr: '66.35.250.204', sport: 34855, dport: 80, id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=' },
  { proto: 6, saddr: '66.35.250.204', daddr: '128.232.110.120', sport: 80, dport: 34855, id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=' },
  { proto: 17, saddr: '192.168.1.52', daddr: '8.8.8.8', sport: 54585, dport: 53, id: '1:d/FP5EW3wiY1vCndhwleRRKHowQ=' },
  { proto: 17, saddr: '8.8.8.8', daddr: '192.168.1.52', sport: 53, dport: 54585, id: '1:d/FP5EW3wiY1vCndhwleRRKHowQ=' },
  { proto: 46, saddr: '10.1.12.1', daddr: '10.1.12.2', sport: null, dport: null, id: '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=' },
  { proto: 46, saddr: '10.1.12.2', daddr: '10.1.12.1', sport: null, dport: null, id: '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=' },
];

function icmpCode(v: Vector): number {
  // the baseline's dport is the mapped counterpart for request/reply types, the code otherwise
  const twoWay = new Set(v.proto === 1 ? [0, 8, 13, 14, 15, 16, 17, 18] : [128, 129, 130, 131, 133, 134, 135, 136, 139, 140, 144, 145]);
  return twoWay.has(v.sport!) ? 0 : v.dport!;
}

describe('Community ID v1', () => {
  it('matches every vector of the spec baseline', () => {
    for (const v of VECTORS) {
      const s = parseIp(v.saddr);
      const d = parseIp(v.daddr);
      const isIcmp = v.proto === 1 || v.proto === 58;
      const got = communityId(s.version, s.bytes, d.bytes, v.proto, v.sport ?? 0, isIcmp ? icmpCode(v) : v.dport ?? 0);
      assert.equal(got, v.id, `${v.saddr} -> ${v.daddr} proto ${v.proto} ${v.sport}/${v.dport}`);
    }
  });

  it('is what the engine puts on flow records, in either direction of the first packet', () => {
    const h = new Harness();
    h.add({ tsUs: 1, src: '66.35.250.204', dst: '128.232.110.120', proto: 6, sport: 80, dport: 34855, tcpFlags: 0x12, seq: 5, ack: 9 });
    h.add({ tsUs: 2, src: '192.168.0.1', dst: '192.168.0.89', proto: 1, sport: 0, dport: 0 });
    h.add({ tsUs: 3, src: '3ffe:501:410:0:2c0:dfff:fe47:33e', dst: '3ffe:507:0:1:200:86ff:fe05:80da', proto: 58, sport: 1, dport: 4 });
    const ids = h.finish().map((r) => r.community_id);
    assert.deepEqual(ids, ['1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:hLZd0XGWojozrvxqE0dWB1iM6R0=']);
  });

  it('uses the seed', () => {
    const s = parseIp('10.0.0.1');
    const d = parseIp('10.0.0.2');
    assert.notEqual(communityId(4, s.bytes, d.bytes, 6, 1, 2, 1), communityId(4, s.bytes, d.bytes, 6, 1, 2, 0));
  });
});
