// Connecting to NATS as the roles do: credentials from a file, TLS with the server verified
// against the configured CA (a real nats-server with a certificate of a test CA).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectNats, natsOptions } from '../../../collector/scale/nats-connect.js';
import { ConnectionConfigError } from '../../../shared/store/postgres/pg-connect.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { makeTestPki, tmpDir } from '../../helpers/transport-rig.js';

describe('NATS connection (credentials file, TLS)', function () {
  this.timeout(60_000);
  let root: string;
  let nats: NatsServer;
  let caFile: string;
  let otherCa: string;

  before(async () => {
    root = tmpDir('nats-tls');
    const tp = makeTestPki(join(root, 'a'), ['localhost'], ['127.0.0.1']);
    caFile = tp.pki.paths.caCert;
    otherCa = makeTestPki(join(root, 'b')).pki.paths.caCert;
    nats = await startNatsServer({ tls: { certFile: tp.pki.paths.serverCert, keyFile: tp.pki.paths.serverKey } });
  });
  after(async () => {
    await nats?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('connects over TLS with the credentials file and uses JetStream', async () => {
    const nc = await connectNats({ natsUrl: nats.url, natsCredsFile: nats.credsFile, natsTls: { ca: caFile } }, 'test');
    try {
      const info = await (await nc.jetstreamManager()).getAccountInfo();
      assert.ok(info.limits !== undefined);
      assert.equal(nc.info?.tls_required, true);
    } finally {
      await nc.close();
    }
  });

  it('refuses a server whose certificate another CA signed, and a wrong password', async () => {
    await assert.rejects(connectNats({ natsUrl: nats.url, natsCredsFile: nats.credsFile, natsTls: { ca: otherCa } }, 'test'), /certificate|self.signed|verify/i);
    const bad = join(root, 'bad-creds');
    writeFileSync(bad, 'meerkat:wrong\n');
    await assert.rejects(connectNats({ natsUrl: nats.url, natsCredsFile: bad, natsTls: { ca: caFile } }, 'test'), /authorization|AUTHORIZATION/i);
  });

  it('reads "user:password" or a token; a missing file is a configuration error', () => {
    const up = join(root, 'up');
    writeFileSync(up, 'u:p:q\n');
    const o = natsOptions({ natsUrl: 'nats://a:1,nats://b:2', natsCredsFile: up }, 'x');
    assert.deepEqual(o.servers, ['nats://a:1', 'nats://b:2']);
    assert.equal(o.user, 'u');
    assert.equal(o.pass, 'p:q');
    const tok = join(root, 'tok');
    writeFileSync(tok, 's3cr3t\n');
    assert.equal(natsOptions({ natsUrl: 'nats://a:1', natsCredsFile: tok }, 'x').token, 's3cr3t');
    assert.throws(() => natsOptions({ natsUrl: 'nats://a:1', natsCredsFile: join(root, 'none') }, 'x'), ConnectionConfigError);
  });
});
