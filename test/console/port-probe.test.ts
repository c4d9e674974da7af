// The console pointed at the wrong port says which port it reached, instead of OpenSSL's
// "wrong version number" or a certificate error: the collector's ops port (plain HTTP), its
// agents' port (TLS, another certificate), some other plain HTTP server - all real servers on
// loopback, reached by the console's own API client with an operator certificate.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../console/admin-client.js';
import { WrongPortError } from '../../console/port-probe.js';
import { issueOperatorCertificate } from '../../certs/operator-certs.js';
import { pkiPaths } from '../../certs/pki-dir.js';
import type { CollectorServer } from '../../collector/server/collector-server.js';
import { makeTestPki, startTestCollector, tmpDir } from '../helpers/transport-rig.js';

describe('console: the wrong port is named', function () {
  this.timeout(60_000);
  let root: string;
  let server: CollectorServer;
  let tls: { cert: string; key: string; ca: string };
  before(async () => {
    root = tmpDir('port-probe');
    const tp = makeTestPki(root);
    server = await startTestCollector(tp, root);
    const c = issueOperatorCertificate(tp.pki.ca, 'alice', { bits: 2048 });
    tls = { cert: c.certPem, key: c.keyPem, ca: readFileSync(pkiPaths(tp.dir).caCert, 'utf8') };
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const wrong = (url: string, found: string, text: RegExp) => assert.rejects(new AdminClient(url, tls).get('/v1/agents'), (e: unknown) => {
    assert.ok(e instanceof WrongPortError, String(e));
    assert.equal(e.found, found);
    assert.match(e.message, text);
    assert.match(e.message, /set --api, \$MEERKAT_API_URL or "api" in ~\/\.meerkat\/config\.json/);
    assert.equal(e.code, 'MEERKAT_ERR_WRONG_PORT');
    return true;
  });

  it("the collector's ops port (plain HTTP): no OpenSSL words", async () => {
    await wrong(`https://127.0.0.1:${server.opsPort}`, 'ops', /is the collector's ops port \("ops": plain HTTP \/healthz and \/metrics\), not its operators' API/);
    await assert.rejects(new AdminClient(`https://127.0.0.1:${server.opsPort}`, tls).get('/v1/agents'), (e: unknown) => !/wrong version number/i.test((e as Error).message));
  });

  it("the collector's agents' port (TLS, its own certificate)", async () => {
    await wrong(`https://127.0.0.1:${server.port}`, 'listen', /is the collector's agents' port \("listen": enrollment and dumps, TLS\), not its operators' API/);
  });

  it('some other plain HTTP server', async () => {
    const other = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      await wrong(`https://127.0.0.1:${(other.address() as AddressInfo).port}`, 'http', /answers plain HTTP, not the collector's API/);
    } finally {
      other.close();
    }
  });

  it('a port nobody listens on is a connection error that says so', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    await assert.rejects(new AdminClient(`https://127.0.0.1:${port}`, tls).get('/v1/agents'), /connection refused\): is the collector running, and is this its `api` port\?/);
  });
});
