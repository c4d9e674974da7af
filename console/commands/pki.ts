// `meerkat pki ...` and `meerkat enroll-token ...`: operator commands for the collector's
// PKI, run on the collector host (they need the CA key and the state dir):
//   pki init      create CA + server certificate (+ empty revocation list and CRL)
//   pki revoke    revoke every certificate of an agent id; the running collector picks it up
//   pki list      certificates issued (by the root and by each organisation's CA), with revocation status
//   enroll-token create / list
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { ONE_SECOND_OR_MORE, parseDuration } from '../../shared/cli/duration.js';
import { isAgentId } from '../../certs/issue-certificates.js';
import { initPki, loadRevocations, readCaCert, revokeAgent } from '../../certs/pki-dir.js';
import { EnrollTokenStore } from '../../certs/enroll-tokens.js';
import { allIssuanceLogs, hasOrgCa, listAllIssued } from '../../certs/org-ca.js';
import { DEFAULT_ORG, isOrgId } from '../../shared/orgs/org-id.js';
import { certFingerprintB64, certFingerprintHex } from '../../certs/fingerprint.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { isIP } from 'node:net';
import { collectorPkiDir, collectorStateDir, DEFAULT_STATE_DIR } from '../collector-dirs.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function pkiDirOf(o: { dir?: string; stateDir?: string }): string {
  return collectorPkiDir(o.dir, o.stateDir);
}

function out(json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text.endsWith('\n') ? text : text + '\n');
}

/** Missing PKI files are an installation/usage problem (exit code 2), same message. */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KeyFileError) throw new UsageError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  const pki = program.command('pki').description('manage the collector PKI (CA, server certificate, revocation)');

  pki
    .command('init')
    .description('create the CA and the collector server certificate')
    .option('--dir <dir>', 'PKI directory (default $MEERKAT_PKI_DIR or <state-dir>/pki)')
    .option('--state-dir <dir>', `collector state directory (default ${DEFAULT_STATE_DIR})`)
    .option('--name <dns>', 'DNS name agents use for the collector (repeatable)', collect, [] as string[])
    .option('--ip <address>', 'IP address agents use for the collector (repeatable)', collect, [] as string[])
    .option('--force', 'replace an existing CA (every enrolled agent must enroll again)', false)
    .option('--json', 'print the result as JSON', false)
    .action((o: { dir?: string; stateDir?: string; name: string[]; ip: string[]; force: boolean; json: boolean }) => {
      if (o.name.length === 0 && o.ip.length === 0) throw new UsageError('pki init needs at least one --name or --ip (what agents will connect to)');
      for (const ip of o.ip) if (isIP(ip) === 0) throw new UsageError(`--ip expects an IP address, got ${JSON.stringify(ip)}`);
      const dir = pkiDirOf(o);
      let r;
      try {
        r = initPki(dir, { serverNames: o.name, serverIps: o.ip, force: o.force });
      } catch (e) {
        if (e instanceof Error && e.name === 'PkiExistsError') throw new UsageError(e.message);
        throw e;
      }
      out(o.json, { dir, caCert: r.paths.caCert, serverCert: r.paths.serverCert, caFingerprint: r.caFingerprint, caFingerprintSha256: r.caFingerprintHex, serverNames: o.name, serverIps: o.ip },
        `PKI created in ${dir}\n  CA certificate: ${r.paths.caCert}\n  CA SHA-256:     ${r.caFingerprintHex}\n  server names:   ${[...o.name, ...o.ip].join(', ')}\nnext: meerkat enroll-token create`);
    });

  pki
    .command('revoke')
    .description('revoke an agent (all its certificates); the running collector closes its connection')
    .argument('<agent-id>', 'the agent id (UUID) to revoke')
    .option('--dir <dir>', 'PKI directory')
    .option('--state-dir <dir>', 'collector state directory')
    .option('--reason <text>', 'why (kept in the revocation list)', 'revoked by operator')
    .option('--json', 'print the result as JSON', false)
    .action((agentId: string, o: { dir?: string; stateDir?: string; reason: string; json: boolean }) => {
      if (!isAgentId(agentId)) throw new UsageError(`not an agent id (lower-case UUID): ${JSON.stringify(agentId)}`);
      // every certificate of the id, whichever CA issued it (the root before organisations, its organisation's since)
      const r = asUsage(() => revokeAgent(pkiDirOf(o), agentId, o.reason, undefined, allIssuanceLogs(pkiDirOf(o))));
      out(o.json, r, `${r.alreadyRevoked ? 'already revoked; updated' : 'revoked'} agent ${agentId} (${r.serials.length} certificate(s)); CRL number ${r.crlNumber}`);
    });

  pki
    .command('list')
    .description('list issued agent certificates and their revocation status')
    .option('--dir <dir>', 'PKI directory')
    .option('--state-dir <dir>', 'collector state directory')
    .option('--json', 'print the result as JSON', false)
    .action((o: { dir?: string; stateDir?: string; json: boolean }) => {
      const dir = pkiDirOf(o);
      const rev = asUsage(() => loadRevocations(dir));
      const rows = listAllIssued(dir).map((r) => ({ ...r, revoked: rev.isRevoked(r.agentId, r.serial) }));
      const text = rows.length === 0 ? 'no certificates issued yet' : rows.map((r) => `${r.agentId}  ${(r.org ?? '(root)').padEnd(12)}  ${r.serial}  ${r.kind.padEnd(6)}  until ${r.notAfter}${r.revoked ? '  REVOKED' : ''}`).join('\n');
      out(o.json, rows, text);
    });

  const tok = program.command('enroll-token').description('create and list agent enrollment tokens');

  tok
    .command('create')
    .description('create a token agents use once (or N times) to enroll; prints the token')
    .option('--dir <dir>', 'PKI directory (for the CA fingerprint the token carries)')
    .option('--state-dir <dir>', `collector state directory (default ${DEFAULT_STATE_DIR})`)
    .option('--org <id>', 'the organisation agents enrolling with it join (default: default)', DEFAULT_ORG)
    .option('--uses <n>', 'how many agents may enroll with it', parseIntOption('--uses', 1, 1_000_000), 1)
    .option('--expires <duration>', 'lifetime, e.g. 30m, 24h, 7d', '24h')
    .option('--label <text>', 'a note kept with the token', '')
    .option('--json', 'print the result as JSON', false)
    .action((o: { dir?: string; stateDir?: string; org: string; uses: number; expires: string; label: string; json: boolean }) => {
      const expiresInSec = parseDuration(o.expires, '--expires', ONE_SECOND_OR_MORE) / 1000;
      const caPem = asUsage(() => readCaCert(pkiDirOf(o)));
      // an organisation has a CA of its own (the default one of an old installation: the root)
      if (!isOrgId(o.org) || (o.org !== DEFAULT_ORG && !hasOrgCa(pkiDirOf(o), o.org))) throw new UsageError(`no organisation ${JSON.stringify(o.org)} on this collector (meerkat-collector org create)`);
      const store = EnrollTokenStore.open(collectorStateDir(o.stateDir));
      try {
        const t = store.create({ org: o.org, uses: o.uses, expiresInSec, caFingerprint: certFingerprintB64(caPem), label: o.label });
        out(o.json, { token: t.token, id: t.id, org: t.org, uses: t.uses, expiresAt: t.expiresAt.toISOString(), caFingerprintSha256: certFingerprintHex(caPem) }, t.token);
        if (!o.json) process.stderr.write(`token ${t.id} of organisation ${t.org}: ${t.uses} use(s), expires ${t.expiresAt.toISOString()}\n`);
      } finally {
        store.close();
      }
    });

  tok
    .command('list')
    .description('list tokens (ids only; the secrets are not stored)')
    .option('--state-dir <dir>', `collector state directory (default ${DEFAULT_STATE_DIR})`)
    .option('--json', 'print the result as JSON', false)
    .action((o: { stateDir?: string; json: boolean }) => {
      const store = EnrollTokenStore.open(collectorStateDir(o.stateDir));
      try {
        const now = Date.now();
        const rows = store.list().map((r) => ({ ...r, state: r.revokedAt ? 'revoked' : r.expiresAt.getTime() <= now ? 'expired' : r.usesLeft === 0 ? 'used-up' : 'active' }));
        out(o.json, rows, rows.length === 0 ? 'no tokens' : rows.map((r) => `${r.id}  ${r.org}  ${r.usesLeft}/${r.usesTotal} left  expires ${r.expiresAt.toISOString()}  ${r.state}${r.label ? '  ' + r.label : ''}`).join('\n'));
      } finally {
        store.close();
      }
    });
}
