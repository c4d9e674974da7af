// meerkat-collector as it ships: the esbuild bundle in dist/collector-bundle
// (scripts/bundle-collector.mjs, run by `npm run build`), the program the package launcher and
// the `meerkat-collector` bin start. The packaging test runs it from the .deb; here: it
// imports exactly what the compiled modules import (flows, DNS and TLS logs, alerts), its
// analyzer worker starts beside it, and what `import` loads leaves out the server (only its
// configuration schema comes, with the collector's configuration) and the PKI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initOwnerKeys, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { repoRoot, referencePcapsDir } from '../../shared/util/repo-paths.js';
import { collectorCliArgs } from '../helpers/processes.js';
import { skipBecause } from '../helpers/skip.js';
import { chunkOf, staticallyLoaded, type Metafile } from '../helpers/bundle-meta.js';
import { importedRows } from '../helpers/flow-db-rows.js';

const bundleDir = join(repoRoot(), 'dist', 'collector-bundle');
const bundle = join(bundleDir, 'meerkat-collector.js');

/** The rows and alerts an import wrote (importedRows: what differs between two runs left out). */
function contents(db: string): Record<string, unknown[]> {
  const d = new Database(db, { readonly: true });
  try {
    return { ...importedRows(db), alerts: d.prepare('SELECT analyzer, category, rule, severity, summary, count, first_seen_us, last_seen_us FROM alerts ORDER BY id').all() };
  } finally {
    d.close();
  }
}

describe('collector bundle: meerkat-collector as it ships', function () {
  this.timeout(120_000);
  let dir = '';
  before(function () {
    if (!existsSync(bundle)) skipBecause(this, 'the bundle is built by `npm run build` (npm test builds first); a source-only run before any build has none');
  });
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'mk-cbundle-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a capture as the compiled modules do: the same flows, logs and alerts; the analyzer worker starts beside it', () => {
    initOwnerKeys(join(dir, 'owner'));
    const key = join(dir, 'owner', ANON_KEY_FILE);
    // a scan (alerts), DNS and TLS (the logs)
    const files = ['ndpi/synscan.pcap', 'ndpi/netflix.pcap', 'zeek/ssh_ssh.pcap'].map((f) => join(referencePcapsDir(), f));
    const run = (args: string[], db: string, ...extra: string[]): string => {
      const r = spawnSync(process.execPath, [...args, 'import', '--db', db, '--anon-key', key, '--no-progress', '--json', ...extra, ...files], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const fromBundle = JSON.parse(run([bundle], join(dir, 'b.db'))) as { records: number; analyzers: unknown[] };
    run(collectorCliArgs(), join(dir, 'm.db'));
    run([bundle], join(dir, 'w.db'), '--analyzer-workers');
    assert.ok(fromBundle.records > 50 && fromBundle.analyzers.length >= 8, JSON.stringify(fromBundle));
    const b = contents(join(dir, 'b.db'));
    assert.ok(b.dns_log!.length > 0 && b.tls_log!.length > 0 && b.alerts!.length > 0, 'DNS and TLS logs and alerts written');
    assert.deepEqual(b, contents(join(dir, 'm.db')));
    assert.deepEqual(b, contents(join(dir, 'w.db')));
  });

  it('what `import` loads leaves out the server, the PKI (node-forge), NATS and PostgreSQL, all still in the bundle by import()', () => {
    const meta = JSON.parse(readFileSync(join(bundleDir, 'meta.json'), 'utf8')) as Metafile;
    const entry = Object.keys(meta.outputs).find((o) => o.endsWith('/meerkat-collector.js'))!;
    const command = chunkOf(meta, 'dist/collector/commands/import.js');
    assert.ok(command, 'the import command chunk');
    const seen = staticallyLoaded(meta, entry, command);
    const inputs = seen.flatMap((o) => Object.keys(meta.outputs[o]!.inputs));
    assert.ok(inputs.some((i) => i.includes('dist/collector/flow/flow-engine.js')), 'the flow engine is there');
    for (const lazy of ['node_modules/node-forge/', 'node_modules/nats/', 'node_modules/pg/', 'node_modules/ws/', 'dist/collector/server/collector-server.js', 'dist/collector/collector-service.js', 'dist/collector/control/', 'node_modules/zod/v4/locales/de.js']) {
      assert.ok(!inputs.some((i) => i.includes(lazy)), `${lazy} is loaded by import`);
    }
    const all = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    for (const part of ['node_modules/node-forge/', 'dist/collector/server/collector-server.js', 'dist/collector/analyze/analyzer-worker.js']) {
      assert.ok(all.some((i) => i.includes(part)), `${part} is in the bundle`);
    }
  });
});
