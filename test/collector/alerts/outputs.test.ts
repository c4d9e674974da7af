// Alert outputs against real receivers on 127.0.0.1: RFC 5424 syslog over UDP and over
// TCP with octet-counting framing (including a receiver restart), a webhook that fails
// before it succeeds (retries with backoff), refuses (no retry), or is too slow (bounded
// queue), and the JSON lines file - all through the pipeline, from the configuration.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { AlertPipeline } from '../../../collector/alerts/alert-pipeline.js';
import { alertsConfigSchema } from '../../../collector/alerts/alerts-config.js';
import { createOutputs } from '../../../collector/alerts/outputs/create-outputs.js';
import { formatSyslog, octetFrame, sdValue } from '../../../collector/alerts/outputs/syslog-format.js';
import { SyslogOutput } from '../../../collector/alerts/outputs/syslog-output.js';
import { WebhookOutput } from '../../../collector/alerts/outputs/webhook-output.js';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import type { StoredAlert } from '../../../shared/alerts/alert-types.js';
import { tempDir } from '../analyze/harness.js';
import { T0 } from '../analyze/flow-gen.js';
import { alert } from '../../helpers/alert-gen.js';

// RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
const RFC5424 = /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) (\S+) (\S+) (\S+) (\[.*?[^\\]\]) \uFEFF(.*)$/s;

/** Splits an RFC 6587 octet-counted stream into messages (returns the unconsumed rest). */
function deframe(buf: Buffer, out: string[]): Buffer {
  let b = buf;
  for (;;) {
    const sp = b.indexOf(0x20);
    if (sp < 0) return b;
    const len = Number(b.subarray(0, sp).toString('ascii'));
    assert.ok(Number.isInteger(len) && len > 0, `frame length ${b.subarray(0, sp).toString()}`);
    if (b.length < sp + 1 + len) return b;
    out.push(b.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    b = b.subarray(sp + 1 + len);
  }
}

function listen(server: Server | HttpServer, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function stored(p: Partial<StoredAlert> = {}): StoredAlert {
  return {
    id: 7, key: 'k', agentId: 'agent-a', host: '10.1.2.3', category: 'scan', rule: 'port-scan', peer: '198.51.100.7', analyzer: 'scan',
    severity: 'high', state: 'open', summary: 'outbound port scan: 10.1.2.3 probed 20 ports of 198.51.100.7', count: 3,
    firstSeenUs: T0, lastSeenUs: T0 + 123_456, flowUid: 'CFabc', communityId: '1:xyz=', flowUids: ['CFabc'], evidence: {},
    suggestedResponse: null, createdUs: 0, updatedUs: 0, stateChangedUs: null, ...p,
  };
}

describe('alert outputs', () => {
  it('formats RFC 5424 with escaped structured data and octet-counting frames', () => {
    const msg = formatSyslog(stored({ peer: 'a"b]c\\d', summary: 'héllo' }), 'new', { hostname: 'collector-1', facility: 'local4', procId: '99' });
    const m = RFC5424.exec(msg)!;
    assert.ok(m, msg);
    assert.equal(Number(m[1]), 20 * 8 + 3, 'local4.err for a high alert');
    assert.equal(m[2], '2024-01-08T09:00:00.123456Z', 'the latest occurrence, packet time, µs');
    assert.deepEqual([m[3], m[4], m[5], m[6]], ['collector-1', 'meerkat', '99', 'scan']);
    assert.ok(m[7]!.startsWith('[meerkat@32473 id="7" kind="new" agent="agent-a" host="10.1.2.3" severity="high"'));
    assert.ok(m[7]!.includes(`peer="${sdValue('a"b]c\\d')}"`) && sdValue('a"b]c\\d') === 'a\\"b\\]c\\\\d');
    assert.equal(m[8], 'héllo');
    const f = octetFrame(msg);
    assert.equal(f.subarray(0, f.indexOf(0x20)).toString(), String(Buffer.byteLength(msg)));
  });

  it('syslog over UDP to a real receiver', async () => {
    const sock = createSocket('udp4');
    const got: string[] = [];
    sock.on('message', (m) => got.push(m.toString('utf8')));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    const out = new SyslogOutput({ transport: 'udp', host: '127.0.0.1', port, hostname: 'h' });
    out.send([{ alert: stored(), kind: 'new' }, { alert: stored({ id: 8, severity: 'low' }), kind: 'escalated' }]);
    await out.drain();
    await until(() => got.length === 2);
    assert.ok(got.every((g) => RFC5424.test(g)), got.join('\n'));
    assert.match(got[1]!, /^<133>1 .* kind="escalated"/, 'local0.notice for low');
    assert.equal(out.stats().sent, 2);
    await out.close();
    sock.close();
  });

  it('syslog over TCP (octet counting): queues while the receiver is down, reconnects after a restart', async () => {
    const got: string[] = [];
    const sockets = new Set<Socket>();
    const mkServer = (): Server => createServer((s) => {
      sockets.add(s);
      let rest: Buffer = Buffer.alloc(0);
      s.on('data', (d) => { rest = deframe(Buffer.concat([rest, d]), got); });
      s.on('close', () => sockets.delete(s));
    });
    let server = mkServer();
    const port = await listen(server);
    const out = new SyslogOutput({ transport: 'tcp', host: '127.0.0.1', port, backoffMs: 20, maxBackoffMs: 100 });
    out.send([{ alert: stored({ summary: 'first\nwith a newline' }), kind: 'new' }]);
    await until(() => got.length === 1);
    assert.match(got[0]!, /\uFEFFfirst\nwith a newline$/, 'octet counting carries newlines');
    // receiver goes away
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise((r) => setTimeout(r, 50));
    out.send([{ alert: stored({ id: 2 }), kind: 'new' }, { alert: stored({ id: 3 }), kind: 'new' }]);
    await new Promise((r) => setTimeout(r, 100));
    // and comes back on the same port
    server = mkServer();
    await listen(server, port);
    await until(() => got.length === 3, 5000);
    assert.deepEqual(got.slice(1).map((g) => /id="(\d+)"/.exec(g)![1]), ['2', '3']);
    assert.ok(out.stats().retries >= 1);
    await out.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  describe('webhook', () => {
    let server: HttpServer;
    let port: number;
    let handler: (req: IncomingMessage, body: string) => number;
    const bodies: Array<Record<string, unknown>> = [];
    const times: number[] = [];

    before(async () => {
      server = createHttpServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += String(c); });
        req.on('end', () => {
          times.push(Date.now());
          const status = handler(req, body);
          if (status === 200) bodies.push(JSON.parse(body) as Record<string, unknown>);
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end('ok');
        });
      });
      port = await listen(server);
    });
    after(() => new Promise<void>((r) => server.close(() => r())));
    beforeEach(() => { bodies.length = 0; times.length = 0; });

    it('retries 5xx with growing backoff until it is delivered, with the configured headers', async () => {
      let calls = 0;
      let auth = '';
      handler = (req) => { calls++; auth = String(req.headers.authorization); return calls <= 2 ? 503 : 200; };
      const out = new WebhookOutput({ url: `http://127.0.0.1:${port}/hook`, headers: { authorization: 'Bearer t0ken' }, backoffMs: 50 });
      out.send([{ alert: stored(), kind: 'new' }]);
      await out.drain(5000);
      assert.equal(calls, 3);
      assert.equal(bodies.length, 1);
      assert.equal(bodies[0]!.id, 7);
      assert.equal(bodies[0]!.kind, 'new');
      assert.equal(bodies[0]!.lastSeen, '2024-01-08T09:00:00.123Z');
      assert.equal(auth, 'Bearer t0ken');
      const gaps = [times[1]! - times[0]!, times[2]! - times[1]!];
      assert.ok(gaps[0]! >= 45 && gaps[1]! >= 95, `backoff ${gaps.join(', ')} ms`);
      assert.deepEqual({ ...out.stats(), queued: 0 }, { sent: 1, failed: 0, dropped: 0, retries: 2, queued: 0 });
      await out.close();
    });

    it('does not retry a refusal (4xx) and gives up after maxRetries on a dead endpoint', async () => {
      handler = () => 400;
      const refused = new WebhookOutput({ url: `http://127.0.0.1:${port}/hook`, backoffMs: 10 });
      refused.send([{ alert: stored(), kind: 'new' }]);
      await refused.drain();
      assert.equal(times.length, 1);
      assert.equal(refused.stats().failed, 1);
      // a port nobody listens on
      const dead = new WebhookOutput({ url: 'http://127.0.0.1:9/hook', backoffMs: 5, maxRetries: 3, timeoutMs: 500 });
      dead.send([{ alert: stored(), kind: 'new' }]);
      await dead.drain(5000);
      assert.deepEqual({ failed: dead.stats().failed, retries: dead.stats().retries }, { failed: 1, retries: 3 });
      await refused.close();
      await dead.close();
    });

    it('a slow receiver fills the bounded queue: the oldest are dropped and counted, the rest arrive in order', async () => {
      handler = () => 200;
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      const slow = createHttpServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += String(c); });
        req.on('end', () => { void gate.then(() => { bodies.push(JSON.parse(body) as Record<string, unknown>); res.end('ok'); }); });
      });
      const slowPort = await listen(slow);
      const out = new WebhookOutput({ url: `http://127.0.0.1:${slowPort}/`, maxQueue: 5 });
      out.send([{ alert: stored({ id: 1 }), kind: 'new' }]);
      await new Promise((r) => setTimeout(r, 50)); // id 1 is in flight
      out.send(Array.from({ length: 10 }, (_, i) => ({ alert: stored({ id: i + 2 }), kind: 'new' as const })));
      assert.equal(out.stats().dropped, 5);
      release();
      await out.drain(5000);
      assert.deepEqual(bodies.map((b) => b.id), [1, 7, 8, 9, 10, 11]);
      await out.close();
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    });

    it('from the configuration, through the pipeline: JSON lines + webhook + syslog get new and escalated alerts', async () => {
      handler = () => 200;
      const udp = createSocket('udp4');
      const syslogGot: string[] = [];
      udp.on('message', (m) => syslogGot.push(m.toString()));
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
      const { dir, cleanup } = tempDir();
      try {
        const cfg = alertsConfigSchema.parse({ outputs: [
          { type: 'jsonl', path: join(dir, 'out', 'alerts.jsonl') },
          { type: 'webhook', url: `http://127.0.0.1:${port}/hook` },
          { type: 'syslog', host: '127.0.0.1', port: udp.address().port },
        ] });
        assert.equal(cfg.notify, 'new-and-escalated');
        const store = new SqliteAlertStore(join(dir, 'a.db'));
        const p = new AlertPipeline(store, createOutputs(cfg.outputs), { notify: cfg.notify, autoFlush: false });
        p.add(alert());
        p.add(alert({ peer: '198.51.100.99' }));
        p.flush();
        p.add(alert({ tsUs: T0 + 1 }));           // repeat: not notified
        p.flush();
        p.add(alert({ tsUs: T0 + 2, severity: 'critical' })); // escalated: notified
        await p.close();
        const lines = readFileSync(join(dir, 'out', 'alerts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(lines.map((l) => `${l.kind} ${l.peer} ${l.count}`), ['new 198.51.100.7 1', 'new 198.51.100.99 1', 'escalated 198.51.100.7 3']);
        assert.deepEqual(bodies.map((b) => b.kind), ['new', 'new', 'escalated']);
        await until(() => syslogGot.length === 3);
        assert.equal(p.stats.notifications, 3);
        store.close();
      } finally {
        udp.close();
        cleanup();
      }
    });
  });
});
