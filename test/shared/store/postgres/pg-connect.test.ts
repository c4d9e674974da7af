// TLS to PostgreSQL with a real cluster serving a certificate of a test CA: the connection is
// encrypted (pg_stat_ssl) and the server verified; a client trusting another CA is refused.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openPgPool } from '../../../../shared/store/postgres/pg-connect.js';
import { startPgCluster, type PgCluster } from '../../../helpers/pg-cluster.js';
import { makeTestPki, tmpDir } from '../../../helpers/transport-rig.js';

describe('PostgreSQL over TLS', function () {
  this.timeout(120_000);
  let root: string;
  let cluster: PgCluster;
  let caFile: string;
  let otherCa: string;

  before(async () => {
    root = tmpDir('pg-tls');
    const tp = makeTestPki(join(root, 'a'), ['localhost'], ['127.0.0.1']);
    caFile = tp.pki.paths.caCert;
    otherCa = makeTestPki(join(root, 'b')).pki.paths.caCert;
    cluster = await startPgCluster({ tls: { certFile: tp.pki.paths.serverCert, keyFile: tp.pki.paths.serverKey } });
  });
  after(() => {
    cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('connects encrypted, the server verified against the configured CA', async () => {
    const pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile, tls: { ca: caFile } });
    try {
      const r = await pool.query<{ ssl: boolean; version: string }>('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      assert.equal(r.rows[0]?.ssl, true);
      assert.match(r.rows[0]!.version, /^TLSv1\.[23]$/);
    } finally {
      await pool.end();
    }
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile, tls: { ca: otherCa } });
    try {
      await assert.rejects(pool.query('SELECT 1'), /self.signed|unable to verify|certificate/i);
    } finally {
      await pool.end();
    }
  });
});
