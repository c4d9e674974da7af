// The per-packet floor (bench/per-packet-floor.ts): both loops count what a built capture holds,
// and refuse what they cannot read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWasmFloor, floorJs, floorWasm } from '../../bench/per-packet-floor.js';
import { ACK, PSH, SYN, arp, ether, ipv4, ipv6, pcapFile, tcp, udp, type PcapRecord } from '../helpers/frames.js';
import { nodeScriptArgs } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';

/** 5 five-tuples (3 TCP, one of them behind an 802.1Q tag; 2 UDP, one also seen the other way) in 12 records. */
function capture(): Uint8Array {
  const recs: PcapRecord[] = [];
  let t = 1_700_000_000_000_000;
  const add = (frame: number[]): void => { recs.push({ tsUs: (t += 1000), frame }); };
  add(ether(B, A, 0x0800, ipv4('192.0.2.1', '192.0.2.2', 6, tcp(40000, 443, SYN))));
  add(ether(A, B, 0x0800, ipv4('192.0.2.2', '192.0.2.1', 6, tcp(443, 40000, SYN | ACK))));
  add(ether(B, A, 0x0800, ipv4('192.0.2.1', '192.0.2.2', 6, tcp(40000, 443, PSH | ACK, [1, 2, 3]))));
  add(ether(B, A, 0x0800, ipv4('192.0.2.1', '192.0.2.2', 6, tcp(40001, 443, SYN))));
  // 802.1Q, VLAN 5, then IPv4
  add(ether(B, A, 0x8100, [0x00, 0x05, 0x08, 0x00, ...ipv4('192.0.2.1', '198.51.100.7', 6, tcp(40002, 80, SYN))]));
  add(ether(B, A, 0x0800, ipv4('192.0.2.1', '192.0.2.53', 17, udp(5353, 53, [0, 1]))));
  add(ether(A, B, 0x0800, ipv4('192.0.2.53', '192.0.2.1', 17, udp(53, 5353, [0, 1, 2]))));
  add(ether(B, A, 0x0800, ipv4('192.0.2.1', '192.0.2.9', 17, udp(123, 123))));
  // not counted as flows: ARP, IPv6, ICMP, a frame too short for the headers
  add(ether('ff:ff:ff:ff:ff:ff', A, 0x0806, arp(1, A, '192.0.2.1', '00:00:00:00:00:00', '192.0.2.2')));
  add(ether(B, A, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 17, udp(1, 2))));
  add(ether(B, A, 0x0800, ipv4('192.0.2.1', '192.0.2.2', 1, [8, 0, 0, 0, 0, 0, 0, 0])));
  add([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0]);
  return pcapFile(1, recs);
}

describe('per-packet floor bench', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-floor-test-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the JavaScript loop counts every record and each 5-tuple once, whichever way it is seen', () => {
    const file = join(dir, 'five.pcap');
    writeFileSync(file, capture());
    const r = floorJs(file);
    assert.equal(r.packets, 12);
    assert.equal(r.flows, 5);
    assert.ok(r.cpuSeconds >= 0);
  });

  it('refuses a file that is not a classic little-endian microsecond pcap', () => {
    const file = join(dir, 'ng.pcapng');
    writeFileSync(file, Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'));
    assert.throws(() => floorJs(file), /not a classic little-endian microsecond pcap/);
  });

  it('the compiled loop agrees with it (needs clang and lld for wasm32)', async function () {
    const built = buildWasmFloor(dir);
    // CI machines install neither (the bench then prints "not measured" with the same reason)
    if (!('wasm' in built)) skipBecause(this, `the compiled floor cannot be built here: ${built.reason}`);
    const file = join(dir, 'five.pcap');
    writeFileSync(file, capture());
    const r = await floorWasm(file, built.wasm);
    assert.deepEqual({ packets: r.packets, flows: r.flows }, { packets: 12, flows: 5 });
  });

  it('the command prints both loops\' figures, or why the compiled one was not measured', () => {
    const file = join(dir, 'five.pcap');
    writeFileSync(file, capture());
    const r = spawnSync(process.execPath, [...nodeScriptArgs('../../bench/per-packet-floor', import.meta.url), '--capture', file, '--rounds', '2'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^per-packet floor: 12 packets, 5 5-tuples, 2 rounds/);
    assert.match(r.stdout, /JavaScript +first pass [\d.]+ s/);
    assert.match(r.stdout, /compiled \(wasm32\) +(first pass [\d.]+ s|not measured: clang)/);
    const bad = spawnSync(process.execPath, [...nodeScriptArgs('../../bench/per-packet-floor', import.meta.url), '--rounds', '2'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /usage: per-packet-floor/);
  });
});
