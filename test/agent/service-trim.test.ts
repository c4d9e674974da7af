import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { nodeScriptArgs } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';
import { scheduleStartupTrim, TRIM_KEEP, type TrimFunction } from '../../agent/service-trim.js';
import type { CapTrimKeep } from '../../agent/capture/cap-binding.js';

/** A real pino logger whose JSON lines are kept for the test to read. */
function capturedLog(): { log: pino.Logger; lines: () => Array<{ msg: string; when?: string; err?: string }> } {
  const out: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { out.push(chunk.toString()); cb(); } });
  const log = pino({ level: 'info' }, sink);
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; when?: string; err?: string }) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('agent/service-trim', function () {
  this.timeout(120_000);

  it('trims after the first connection, and once more later; not before, not per reconnection', async () => {
    const { log, lines } = capturedLog();
    const shipper = new EventEmitter();
    let calls = 0;
    const trim: TrimFunction = () => { calls++; return { mappings: 3, bytes: 5 * 1024 * 1024 }; };
    const stop = scheduleStartupTrim(shipper, log, { trim, setting: 'on', firstDelayMs: 20, secondDelayMs: 60, unconnectedMs: 10_000 });
    await sleep(50);
    assert.equal(calls, 0, 'nothing before the first connection');
    shipper.emit('connected', null);
    shipper.emit('connected', null);
    await sleep(40);
    assert.equal(calls, 1);
    await sleep(100);
    assert.equal(calls, 2);
    shipper.emit('connected', null);
    await sleep(150);
    assert.equal(calls, 2, 'a reconnection does not trim again');
    stop();
    assert.deepEqual(lines().filter((l) => l.msg.startsWith('working-set trim')).map((l) => l.when), ['after start-up', 'half a minute later']);
  });

  it('keeps code, libpcap and the addon mapped unless MEERKAT_AGENT_TRIM=all; logs what it kept and how long it took', async () => {
    const seen: Array<CapTrimKeep | undefined> = [];
    const trim: TrimFunction = (keep) => { seen.push(keep); return { mappings: 2, bytes: 3 << 20, keptMappings: 4, keptBytes: 20 << 20 }; };
    for (const setting of ['on', 'all']) {
      const { log, lines } = capturedLog();
      const shipper = new EventEmitter();
      const stop = scheduleStartupTrim(shipper, log, { trim, setting, firstDelayMs: 5, secondDelayMs: 10_000 });
      shipper.emit('connected', null);
      await sleep(40);
      stop();
      const line = lines().find((l) => l.msg.startsWith('working-set trim: start-up')) as { mb?: number; keptMb?: number; ms?: number } | undefined;
      assert.deepEqual([line?.mb, line?.keptMb, typeof line?.ms], [3, 20, 'number']);
    }
    assert.deepEqual(seen, [TRIM_KEEP, {}]);
    assert.deepEqual(TRIM_KEEP, { keepExecutable: true, keepPaths: ['libpcap', 'cap.node', 'wpcap.dll', 'packet.dll'] });
  });

  it('trims without a connection once the start-up wait is over', async () => {
    const { log } = capturedLog();
    let calls = 0;
    const stop = scheduleStartupTrim(new EventEmitter(), log, { trim: () => { calls++; return { mappings: 0, bytes: 0 }; }, setting: 'on', firstDelayMs: 10, secondDelayMs: 10_000, unconnectedMs: 30 });
    await sleep(100);
    assert.equal(calls, 1);
    stop();
  });

  it('a failing or missing trim is logged and the agent runs on; MEERKAT_AGENT_TRIM=off turns it off', async () => {
    const { log, lines } = capturedLog();
    const shipper = new EventEmitter();
    const stop = scheduleStartupTrim(shipper, log, { trim: () => { throw new Error('madvise refused'); }, setting: 'on', firstDelayMs: 10, secondDelayMs: 10 });
    shipper.emit('connected', null);
    await sleep(80);
    stop();
    const failed = lines().filter((l) => l.msg.startsWith('working-set trim failed'));
    assert.equal(failed.length, 2);
    assert.equal(failed[0]!.err, 'madvise refused');

    let calls = 0;
    const off = capturedLog();
    const stopOff = scheduleStartupTrim(shipper, off.log, { trim: () => { calls++; return { mappings: 0, bytes: 0 }; }, setting: 'off', firstDelayMs: 1, unconnectedMs: 1 });
    shipper.emit('connected', null);
    await sleep(30);
    stopOff();
    assert.equal(calls, 0);
    assert.ok(off.lines().some((l) => l.msg === 'working-set trim: off (MEERKAT_AGENT_TRIM)'));

    const none = capturedLog();
    const stopNone = scheduleStartupTrim(shipper, none.log, { trim: undefined, setting: 'on' });
    stopNone();
  });

  it('the real trim drops start-up pages and the process keeps working: capture, TLS, zlib, brotli, crypto, new built-ins, ICU', function () {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) skipBecause(this, 'the check captures on loopback: needs root on Linux');
    const r = spawnSync(process.execPath, [...nodeScriptArgs('./service-trim-child', import.meta.url)], { encoding: 'utf8', timeout: 100_000 });
    assert.equal(r.status, 0, `the child failed (${r.status} ${r.signal}): ${r.stderr}`);
    const out = JSON.parse(r.stdout) as {
      result: { mappings: number; bytes: number; keptMappings?: number; keptBytes?: number }; keptShrunk: string[]; keptCode: number; rssBefore: number; rssAfterTrim: number; withPrivatePages: number; anonymousLost: string[];
      before: unknown; after: { work: { gzip: boolean; brotli: boolean; signed: boolean; sha256: string }; tls: string; captured: number };
      readlineOk: boolean; dateText: string; again: { mappings: number; bytes: number }; afterAll: unknown;
    };
    assert.ok(out.result.mappings > 0 && out.result.bytes > 5 * 1024 * 1024, `trimmed ${JSON.stringify(out.result)}`);
    assert.ok(out.rssAfterTrim < out.rssBefore - 5 * 1024, `RSS ${out.rssBefore} kB -> ${out.rssAfterTrim} kB`);
    // the service's trim leaves code (node's text, libc, libpcap, the addon) and libpcap's and the addon's data mapped
    assert.ok(out.keptCode >= 3, `executable file mappings resident before the trim: ${out.keptCode}`);
    assert.deepEqual(out.keptShrunk, [], 'no kept mapping lost a resident page');
    assert.ok((out.result.keptMappings ?? 0) >= 3 && (out.result.keptBytes ?? 0) > 1024 * 1024, `kept ${JSON.stringify(out.result)}`);
    assert.ok(out.withPrivatePages >= 5, `file mappings with copy-on-written pages to check: ${out.withPrivatePages}`);
    assert.deepEqual(out.anonymousLost, [], 'no copy-on-written page (RELRO, written data) was dropped');
    assert.deepEqual(out.after, out.before, 'the same results after the trim');
    assert.equal(out.after.tls, 'echo me');
    assert.equal(out.after.captured, 50);
    assert.deepEqual([out.after.work.gzip, out.after.work.brotli, out.after.work.signed], [true, true, true]);
    assert.equal(out.readlineOk, true);
    assert.equal(out.dateText, 'Montag, 7. Dezember 2026');
    assert.ok(out.again.mappings > 0, 'a second trim, of everything eligible, code included, works too');
    assert.deepEqual(out.afterAll, out.before, 'the same results after trimming code too');
  });
});
