import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { CollectorServer } from '../../../collector/server/collector-server.js';
import { SqliteDumpLedger } from '../../../collector/server/dump-ledger.js';
import { Shipper } from '../../../agent/transport/shipper.js';
import { DirSpool, issueAgent, makeDump, makeTestPki, tmpDir, waitFor } from '../../helpers/transport-rig.js';

/** A TCP relay that can go silent like a dead link: no reset, no FIN, bytes just stop moving. */
class FlakyLink {
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private silent = false;
  port = 0;

  constructor(private readonly target: number) {
    this.server = createServer((client) => {
      const up = connect(this.target, '127.0.0.1');
      for (const s of [client, up]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
        if (this.silent) s.pause();
      }
      client.pipe(up);
      up.pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
  }

  /** Stops (or restarts) all traffic; stopped sockets keep their bytes, as a stalled path does. */
  setSilent(on: boolean): void {
    this.silent = on;
    for (const s of this.sockets) if (on) s.pause(); else s.resume();
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

describe('transport: the agent survives a network loss', function () {
  it('a silent (black-holed) link is detected, the agent reconnects and delivers everything once', async function () {
    const root = tmpDir('netloss');
    const tp = makeTestPki(root);
    const ledger = new SqliteDumpLedger(join(root, 'state', 'ledger.sqlite'));
    const server = await CollectorServer.start({ pkiDir: tp.dir, stateDir: join(root, 'state'), listen: { host: '127.0.0.1', port: 0 }, ops: false, ledger, defaultMetrics: false, limits: { heartbeatSec: 0.5 } });
    const link = new FlakyLink(server.port);
    await link.listen();
    const a = issueAgent(tp);
    const spool = new DirSpool(join(root, 'spool'));
    const sh = new Shipper({ collectorUrl: `https://localhost:${link.port}`, agentId: a.agentId, credentials: () => a, spool, backoff: { initialMs: 100, maxMs: 400 } });
    let disconnects = 0;
    sh.on('disconnected', () => { disconnects++; });
    try {
      for (let s = 1; s <= 5; s++) spool.put(s, makeDump(a.agentId, s, s * 10, 100));
      sh.start();
      await waitFor(() => spool.list().length === 0, 10_000, 'first batch delivered');
      link.setSilent(true);
      for (let s = 6; s <= 10; s++) spool.put(s, makeDump(a.agentId, s, s * 10, 100));
      sh.notify();
      // silence for well over 3 heartbeats (0.5 s each): the agent must give the connection up
      await waitFor(() => disconnects >= 1, 6000, 'the agent to notice the dead connection');
      assert.equal(spool.list().length, 5, 'nothing got through the dead link');
      link.setSilent(false);
      await waitFor(() => spool.list().length === 0, 20_000, 'second batch delivered after the link came back');
      assert.deepEqual(ledger.list(a.agentId).map((r) => r.sequence), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      await sh.stop();
      await link.close();
      await server.close();
      ledger.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
