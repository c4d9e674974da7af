// meerkat-collector as it ships: the esbuild bundle in dist/collector-bundle
// (scripts/bundle-collector.mjs, run by `npm run build`), the program the package launcher and
// the `meerkat-collector` bin start. The packaging test runs it from the .deb; here: it
// imports exactly what the compiled modules import (flows, DNS and TLS logs, alerts), its
// analyzer worker starts beside it, and what `import` loads leaves out the server (only its
// configuration schema comes, with the collector's configuration) and the PKI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
// the package launcher (installer/linux/collector/meerkat-collector), copied beside the bundle by the build
const launcher = join(bundleDir, 'meerkat-collector');
const cachedStart = join(bundleDir, 'meerkat-collector-start.cjs');

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

  it('the launcher starts the bundle; for import only it sets NODE_EXTRA_CA_CERTS aside (as MEERKAT_DEFERRED_CA_CERTS) and compiles in line', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
    assert.equal(spawnSync(launcher, ['--version'], { encoding: 'utf8', env: { ...process.env, MEERKAT_NODE: process.execPath } }).stdout.trim(), version);
    // a stand-in for node that shows what it was given
    const showEnv = join(dir, 'show-env');
    writeFileSync(showEnv, '#!/bin/sh\necho "$* ca=${NODE_EXTRA_CA_CERTS-none} deferred=${MEERKAT_DEFERRED_CA_CERTS-none}"\n', { mode: 0o755 });
    const line = (args: string[], extra: Record<string, string | undefined> = { NODE_EXTRA_CA_CERTS: '/etc/extra-ca.pem' }): string =>
      spawnSync(launcher, args, { encoding: 'utf8', env: { ...process.env, MEERKAT_NODE: showEnv, MEERKAT_DEFERRED_CA_CERTS: undefined, ...extra } }).stdout.trim();
    // the one-shot sub-commands through the code cache (collector/start/cached-start.ts), `run` from the ES module bundle;
    // `import` with V8's optimizing compiler in line (installer/linux/collector/meerkat-collector says why)
    const inLine = '--no-concurrent-recompilation';
    assert.equal(line(['import', 'a.pcap']), `${inLine} ${cachedStart} import a.pcap ca=none deferred=/etc/extra-ca.pem`);
    assert.equal(line(['run']), `${bundle} run ca=/etc/extra-ca.pem deferred=none`);
    for (const sub of ['token', 'org', 'init', '--help']) assert.equal(line([sub]), `${cachedStart} ${sub} ca=/etc/extra-ca.pem deferred=none`, sub);
    assert.equal(line(['import', 'a.pcap'], { NODE_EXTRA_CA_CERTS: undefined }), `${inLine} ${cachedStart} import a.pcap ca=none deferred=none`);
  });

  it('an import whose configuration posts alerts to an https webhook starts again with the extra CA certificates; others do not', () => {
    initOwnerKeys(join(dir, 'owner'));
    const key = join(dir, 'owner', ANON_KEY_FILE);
    const capture = join(referencePcapsDir(), 'tcpdump', 'dns_tcp.pcap');
    const webhook = (url: string): string => {
      const f = join(dir, `collector-${url.slice(0, 5).replace(':', '')}.json`);
      writeFileSync(f, JSON.stringify({ alerts: { outputs: [{ type: 'webhook', url, maxRetries: 0, timeoutMs: 1000 }] } }));
      return f;
    };
    // node warns at start-up when it cannot read NODE_EXTRA_CA_CERTS: that shows which processes were given it
    const missingCa = join(dir, 'no-such-ca.pem');
    const imp = (config: string, db: string): { status: number | null; stderr: string; stdout: string } => {
      const r = spawnSync(launcher, ['import', '--config', config, '--db', join(dir, db), '--anon-key', key, '--no-progress', '--json', capture],
        { encoding: 'utf8', env: { ...process.env, MEERKAT_NODE: process.execPath, NODE_EXTRA_CA_CERTS: missingCa } });
      return { status: r.status, stderr: r.stderr, stdout: r.stdout };
    };
    const viaHttps = imp(webhook('https://127.0.0.1:9/hook'), 'a.db');
    assert.equal(viaHttps.status, 0, viaHttps.stderr);
    assert.match(viaHttps.stderr, /Ignoring extra certs/);
    assert.equal(viaHttps.stdout.trim().split('\n').length, 1, 'one summary: the first process said nothing');
    assert.ok((JSON.parse(viaHttps.stdout) as { records: number }).records > 0);
    const viaHttp = imp(webhook('http://127.0.0.1:9/hook'), 'b.db');
    assert.equal(viaHttp.status, 0, viaHttp.stderr);
    assert.doesNotMatch(viaHttp.stderr, /Ignoring extra certs/);
    assert.deepEqual(contents(join(dir, 'a.db')), contents(join(dir, 'b.db')));
  });
});
