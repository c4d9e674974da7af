import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BpfFilterError, LOOPBACK_EXCLUSION, buildCaptureFilter, collectorExclusion, ownFramesClause,
} from '../../../agent/capture/bpf-filter.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { ether, ipv4, ipv6, pcapFile, tcp, udp, SYN, ACK } from '../../helpers/frames.js';
import { skipBecause } from '../../helpers/skip.js';

const A = '10.9.8.7';
const C = '192.0.2.10';
const D = '192.0.2.11';
const A6 = 'fd00::7';
const C6 = '2001:db8::10';
const MA = '02:00:00:00:00:0a';
const MC = '02:00:00:00:00:0c';

/** Runs libpcap's own compiler and matcher (tcpdump -r) over a crafted capture. */
function tcpdumpSelect(dir: string, frames: number[][], filter: string): number {
  const input = join(dir, 'in.pcap');
  const output = join(dir, 'out.pcap');
  writeFileSync(input, pcapFile(1, frames.map((frame, i) => ({ tsUs: 1_700_000_000_000_000 + i, frame }))));
  execFileSync('tcpdump', ['-r', input, '-w', output, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  const r = openCaptureFile(output);
  let n = 0;
  while (r.next()) n++;
  r.close();
  return n;
}

describe('agent/capture/bpf-filter', () => {
  it('builds the collector exclusion, one alternative per endpoint, canonical addresses', () => {
    assert.equal(collectorExclusion([]), '');
    assert.equal(collectorExclusion([{ addresses: [C], port: 443 }]), `not (host ${C} and tcp port 443)`);
    assert.equal(
      collectorExclusion([{ addresses: [C, '2001:DB8:0::10', C], port: 443 }]),
      `not ((host ${C} or host 2001:db8::10) and tcp port 443)`,
    );
    assert.equal(
      collectorExclusion([{ addresses: [C], port: 443 }, { addresses: [D], port: 8443 }, { addresses: [], port: 1 }]),
      `not ((host ${C} and tcp port 443) or (host ${D} and tcp port 8443))`,
    );
  });

  it('puts the operator filter first and the agent exclusions last', () => {
    assert.equal(buildCaptureFilter({}), '');
    assert.equal(buildCaptureFilter({ userFilter: '  tcp or udp ' }), '(tcp or udp)');
    assert.equal(
      buildCaptureFilter({ userFilter: 'tcp or udp', ownMac: '02-00-00-00-00-0A', excludeLoopbackNets: true, collectors: [{ addresses: [C], port: 443 }] }),
      `(tcp or udp) and (ether host ${MA} or ether multicast) and ${LOOPBACK_EXCLUSION} and not (host ${C} and tcp port 443)`,
    );
  });

  it('refuses input that is not what it claims to be, naming it', () => {
    assert.throws(() => collectorExclusion([{ addresses: [`${C} or host ${D}`], port: 443 }]), (e: unknown) => e instanceof BpfFilterError && /or host/.test((e as Error).message));
    assert.throws(() => collectorExclusion([{ addresses: ['collector.example'], port: 443 }]), BpfFilterError);
    assert.throws(() => collectorExclusion([{ addresses: [C], port: 0 }]), /TCP port/);
    assert.throws(() => collectorExclusion([{ addresses: [C], port: 70000 }]), /TCP port/);
    assert.throws(() => ownFramesClause('02:00:00:00:00'), /MAC/);
    assert.throws(() => buildCaptureFilter({ userFilter: 'tcp) or (udp' }), /balanced parentheses/);
    assert.throws(() => buildCaptureFilter({ userFilter: 'tcp or (udp' }), /balanced parentheses/);
  });

  describe('compiled and applied by libpcap (tcpdump -r)', function () {
    let dir = '';
    before(function () {
      try {
        execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
      } catch {
        skipBecause(this, 'tcpdump (libpcap\'s reference matcher) is not installed');
      }
      dir = mkdtempSync(join(tmpdir(), 'mk-bpf-'));
    });
    after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

    const frames = [
      ether(MC, MA, 0x0800, ipv4(A, C, 6, tcp(40000, 443, SYN))), // to the collector: excluded
      ether(MA, MC, 0x0800, ipv4(C, A, 6, tcp(443, 40000, SYN | ACK))), // from it: excluded
      ether(MC, MA, 0x0800, ipv4(A, C, 6, tcp(40001, 80, SYN))), // same host, other port: kept
      ether(MC, MA, 0x0800, ipv4(A, D, 6, tcp(40002, 443, SYN))), // other host, same port: kept
      ether(MC, MA, 0x0800, ipv4(A, C, 17, udp(40003, 443))), // UDP to the port: kept
      ether(MC, MA, 0x86dd, ipv6(A6, C6, 6, tcp(40004, 443, SYN))), // IPv6 to the collector: excluded
      ether(MC, MA, 0x0800, ipv4('127.0.0.1', '127.0.0.1', 17, udp(1, 2))), // loopback net
      ether('02:00:00:00:00:99', MC, 0x0800, ipv4(C, D, 6, tcp(1, 2, SYN))), // another host's unicast frame
      ether('ff:ff:ff:ff:ff:ff', MC, 0x0800, ipv4(C, '255.255.255.255', 17, udp(68, 67))), // broadcast
    ];

    it('excludes exactly the collector traffic, v4 and v6, and nothing else', () => {
      const f = buildCaptureFilter({ collectors: [{ addresses: [C, C6], port: 443 }] });
      assert.equal(tcpdumpSelect(dir, frames, f), frames.length - 3);
    });

    it('keeps the exclusion in force whatever the operator filter says', () => {
      const f = buildCaptureFilter({ userFilter: 'tcp or udp or ip6', collectors: [{ addresses: [C, C6], port: 443 }] });
      assert.equal(tcpdumpSelect(dir, frames, f), frames.length - 3);
      const narrow = buildCaptureFilter({ userFilter: 'tcp', collectors: [{ addresses: [C, C6], port: 443 }] });
      assert.equal(tcpdumpSelect(dir, frames, narrow), 3); // :80, D:443, other host's frame
    });

    it('own-MAC clause keeps this host\'s frames and group-addressed ones only', () => {
      const f = buildCaptureFilter({ ownMac: MA });
      assert.equal(tcpdumpSelect(dir, frames, f), frames.length - 1);
    });

    it('loopback-net exclusion drops 127/8', () => {
      assert.equal(tcpdumpSelect(dir, frames, buildCaptureFilter({ excludeLoopbackNets: true })), frames.length - 1);
    });
  });
});
