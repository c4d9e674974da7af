// `meerkat-collector pki ...`: the collector's PKI, on the collector host (the CA key is here),
// in the PKI directory of this host's collector (collector-config.ts):
//   pki init                         CA + agents' server certificate + empty revocation list and CRL
//                                    (`init` does it as part of a deployment)
//   pki list                         agent certificates issued (by the root and by each organisation's CA), with revocation status
//   pki revoke AGENT                 every certificate of an agent; the running collector drops it
//   pki operator create NAME         an operator's API certificate into an operator directory
//   pki operator list | revoke NAME
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { resolveAgentIdPrefix } from '../../shared/commands/agent-id-prefix.js';
import { OPERATOR_PUB_FILE } from '../../shared/commands/operator-keys.js';
import { meerkatHome } from '../../shared/config/console-config.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { initPki, loadRevocations, pkiPaths, PkiExistsError, revokeAgent } from '../../certs/pki-dir.js';
import { allIssuanceLogs, listAllIssued } from '../../certs/org-ca.js';
import { RevocationList, saveRevocationList } from '../../certs/revocation-list.js';
import { buildCrl, type CrlEntry } from '../../certs/crl.js';
import { PUBLIC_MODE, writeFileAtomic } from '../../certs/pem-files.js';
import { OPERATOR_REVOCATION_PREFIX, OperatorNameError, listOperators, operatorSerials } from '../../certs/operator-certs.js';
import { createOperator } from '../setup/operator-setup.js';
import type { CollectorHostFlags } from '../collector-config.js';
import { hostFrom, hostOptions } from './host-options.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function pkiDirOf(f: CollectorHostFlags): string {
  return hostFrom(f).pkiDir;
}

function out(json: boolean | undefined, data: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(data) + '\n' : text.endsWith('\n') ? text : text + '\n');
}

/** A missing PKI or a bad name is an installation / usage problem (exit 2), same message. */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KeyFileError) throw new UsageError(`${e.message} (create the deployment with \`meerkat-collector init\` first?)`);
    if (e instanceof OperatorNameError || e instanceof PkiExistsError) throw new UsageError(e.message);
    throw e;
  }
}

function registerAgentPki(pki: Command): void {
  hostOptions(pki.command('init')
    .description('create the CA and the agents\' server certificate (meerkat-collector init does this as part of a deployment)'))
    .option('--name <dns>', 'DNS name agents use for the collector (repeatable)', collect, [] as string[])
    .option('--ip <address>', 'IP address agents use for the collector (repeatable)', collect, [] as string[])
    .option('--force', 'replace an existing CA (every enrolled agent must enroll again)', false)
    .option('--json', 'print the result as JSON')
    .action((f: CollectorHostFlags & { name: string[]; ip: string[]; force: boolean; json?: boolean }) => {
      if (f.name.length === 0 && f.ip.length === 0) throw new UsageError('pki init needs at least one --name or --ip (what agents will connect to)');
      for (const ip of f.ip) if (isIP(ip) === 0) throw new UsageError(`--ip expects an IP address, got ${JSON.stringify(ip)}`);
      const dir = pkiDirOf(f);
      const r = asUsage(() => initPki(dir, { serverNames: f.name, serverIps: f.ip, force: f.force }));
      out(f.json, { pkiDir: dir, caCert: r.paths.caCert, serverCert: r.paths.serverCert, caFingerprintSha256: r.caFingerprintHex, serverNames: f.name, serverIps: f.ip },
        `PKI created in ${dir}\n  CA certificate: ${r.paths.caCert}\n  CA SHA-256:     ${r.caFingerprintHex}\n  server names:   ${[...f.name, ...f.ip].join(', ')}\nnext: meerkat-collector token create`);
    });

  hostOptions(pki.command('revoke')
    .description('revoke an agent (all its certificates); the running collector closes its connection within a second')
    .argument('<agent>', 'agent id, or a unique prefix of at least 4 characters'))
    .option('--reason <text>', 'why (kept in the revocation list)', 'revoked by operator')
    .option('--json', 'print the result as JSON')
    .action((agent: string, f: CollectorHostFlags & { reason: string; json?: boolean }) => {
      const dir = pkiDirOf(f);
      const agentId = resolveAgentIdPrefix(agent, listAllIssued(dir).map((r) => r.agentId), 'agents this collector enrolled', true);
      // every certificate of the id, whichever CA issued it (the root before organisations, its organisation's since)
      const r = asUsage(() => revokeAgent(dir, agentId, f.reason, undefined, allIssuanceLogs(dir)));
      out(f.json, r, `${r.alreadyRevoked ? 'already revoked; updated' : 'revoked'} agent ${agentId} (${r.serials.length} certificate(s)); CRL number ${r.crlNumber}`);
    });

  hostOptions(pki.command('list')
    .description('agent certificates issued, with revocation status'))
    .option('--json', 'one JSON object per certificate (JSON lines)')
    .action((f: CollectorHostFlags & { json?: boolean }) => {
      const dir = pkiDirOf(f);
      const rev = asUsage(() => loadRevocations(dir));
      const rows = listAllIssued(dir).map((r) => ({ ...r, revoked: rev.isRevoked(r.agentId, r.serial) }));
      if (f.json) {
        for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      out(false, rows, rows.length === 0 ? 'no certificates issued yet' : rows.map((r) => `${r.agentId}  ${(r.org ?? '(root)').padEnd(12)}  ${r.serial}  ${r.kind.padEnd(6)}  until ${r.notAfter}${r.revoked ? '  REVOKED' : ''}`).join('\n'));
    });
}

function registerOperatorPki(pki: Command): void {
  const op = pki.command('operator').description('operators\' certificates for the API');

  hostOptions(op.command('create')
    .description('issue an operator\'s API certificate (CN=NAME, OU=operator) into an operator directory, with the CA certificate')
    .argument('<name>', 'operator name (letters, digits, . _ @ -)'))
    .option('--out <dir>', 'operator directory to write (default ~/.meerkat/operator)')
    .option('--days <n>', 'validity in days (default 365)', parseIntOption('--days', 1, 3650))
    .option('--with-signing-key', 'also create the operator\'s signing key (op.key, op.pub) there; better made on the operator\'s own machine with `meerkat keys operator-init`')
    .option('--json', 'print the result as JSON')
    .action((name: string, f: CollectorHostFlags & { out?: string; days?: number; withSigningKey?: boolean; json?: boolean }) => {
      const dir = f.out ?? join(meerkatHome(), 'operator');
      const r = asUsage(() => createOperator(pkiDirOf(f), { name, dir, signingKey: f.withSigningKey === true, ...(f.days ? { days: f.days } : {}) }));
      out(f.json, r, `operator certificate for ${name} (serial ${r.serial}, valid until ${r.notAfter}) written to ${dir}\n`
        + `the API admits ${name} once it is a user with a role: meerkat-collector user add ${name} --org ORG --role ROLE (or user add --cert-out does both)\n`
        + (r.keyId ? `signing key ${r.keyId}: pin ${r.publicKeyFile} on the agents\n`
          : `next, on the operator's machine: meerkat keys operator-init --name ${name} (into the same directory), and pin its ${OPERATOR_PUB_FILE} on the agents\n`));
    });

  hostOptions(op.command('list')
    .description('operator certificates issued, with revocation status'))
    .option('--json', 'one JSON object per certificate (JSON lines)')
    .action((f: CollectorHostFlags & { json?: boolean }) => {
      const dir = pkiDirOf(f);
      const rev = asUsage(() => loadRevocations(dir));
      const rows = listOperators(dir).map((r) => ({ ...r, revoked: rev.isRevoked(OPERATOR_REVOCATION_PREFIX + r.name, r.serial) }));
      if (f.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
      else if (rows.length === 0) process.stdout.write('no operator certificates issued\n');
      else for (const r of rows) process.stdout.write(`${r.name}  ${r.serial}  until ${r.notAfter}${r.revoked ? '  REVOKED' : ''}\n`);
    });

  hostOptions(op.command('revoke')
    .description('revoke every certificate of an operator; the API refuses it within a second')
    .argument('<name>', 'operator name'))
    .option('--reason <text>', 'why', 'revoked by administrator')
    .option('--json', 'print the result as JSON')
    .action((name: string, f: CollectorHostFlags & { reason: string; json?: boolean }) => {
      const dir = pkiDirOf(f);
      const paths = pkiPaths(dir);
      const ca = asUsage(() => loadCa(paths.caCert, paths.caKey));
      const serials = operatorSerials(dir, name);
      if (serials.length === 0) throw new UsageError(`no operator certificate was issued to ${JSON.stringify(name)}`);
      const list = RevocationList.load(paths.revocations, ca.certPem);
      const data = list.withRevoked(OPERATOR_REVOCATION_PREFIX + name, serials, f.reason);
      const entries: CrlEntry[] = data.entries.flatMap((e) => e.serials.map((serial) => ({ serial, revokedAt: new Date(e.revokedAt) })));
      writeFileAtomic(paths.crl, buildCrl(ca, entries, data.crlNumber), PUBLIC_MODE);
      saveRevocationList(paths.revocations, ca, data);
      out(f.json, { name, serials, crlNumber: data.crlNumber }, `revoked operator ${name} (${serials.length} certificate(s)); CRL number ${data.crlNumber}`);
    });
}

export function registerPkiCommands(program: Command): void {
  const pki = program.command('pki').description('the collector\'s PKI: CA, agent and operator certificates, revocation');
  registerAgentPki(pki);
  registerOperatorPki(pki);
}
