// Operator credentials:
//   meerkat pki operator create NAME [--out DIR]   TLS client certificate for the admin API (run on the collector host: needs the CA key)
//   meerkat pki operator list | revoke NAME
//   meerkat keys operator-init [--dir DIR] --name NAME   Ed25519 signing key op.key/op.pub (agents pin op.pub)
// Two separate credentials on purpose: the certificate (issued by the collector's CA) only lets
// an operator talk to the collector; the signing key, which the collector never sees, is what
// agents obey. Whoever holds the CA key can mint certificates, not signatures.
import type { Command } from 'commander';
import { join } from 'node:path';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { initOperatorKeys } from '../../shared/commands/operator-keys.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { loadRevocations, pkiPaths } from '../../certs/pki-dir.js';
import { RevocationList, saveRevocationList } from '../../certs/revocation-list.js';
import { buildCrl, type CrlEntry } from '../../certs/crl.js';
import { PUBLIC_MODE, writeFileAtomic } from '../../certs/pem-files.js';
import {
  OPERATOR_REVOCATION_PREFIX, OperatorNameError, checkOperatorName, issueOperatorCertificate, listOperators, operatorSerials, recordOperatorIssuance, writeOperatorCredentials,
} from '../../certs/operator-certs.js';
import { operatorDir } from '../admin-client.js';
import { collectorPkiDir, DEFAULT_STATE_DIR } from '../collector-dirs.js';

function pkiDirOf(o: { pkiDir?: string; stateDir?: string }): string {
  return collectorPkiDir(o.pkiDir, o.stateDir);
}

function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KeyFileError || e instanceof OperatorNameError) throw new UsageError(e.message);
    throw e;
  }
}

/** The subcommand `name` of `program`, created when missing (pki / keys are registered elsewhere). */
function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

export function registerOperatorCommands(program: Command): void {
  const op = group(program, 'pki', 'manage the collector PKI').command('operator').description('operator certificates for the admin API');

  op.command('create')
    .description('issue an operator client certificate (CN=NAME, OU=operator) and write it with its key and the CA certificate')
    .argument('<name>', 'operator name (letters, digits, . _ @ -)')
    .option('--out <dir>', 'where to write operator.crt, operator.key, ca.crt (default $MEERKAT_OPERATOR_DIR or ~/.meerkat/operator)')
    .option('--pki-dir <dir>', 'PKI directory (default $MEERKAT_PKI_DIR or <state-dir>/pki)')
    .option('--state-dir <dir>', `collector state directory (default ${DEFAULT_STATE_DIR})`)
    .option('--days <n>', 'validity in days (default 365)', parseIntOption('--days', 1, 3650))
    .option('--json', 'print JSON')
    .action((name: string, o: { out?: string; pkiDir?: string; stateDir?: string; days?: number; json?: boolean }) => {
      const dir = pkiDirOf(o);
      const paths = pkiPaths(dir);
      const ca = asUsage(() => loadCa(paths.caCert, paths.caKey));
      asUsage(() => checkOperatorName(name));
      const creds = issueOperatorCertificate(ca, name, o.days ? { days: o.days } : {});
      recordOperatorIssuance(dir, creds);
      const out = operatorDir(o.out);
      writeOperatorCredentials(out, creds, ca.certPem);
      const result = { name, serial: creds.serial, notAfter: creds.notAfter.toISOString(), dir: out };
      process.stdout.write(o.json ? JSON.stringify(result) + '\n'
        : `operator certificate for ${name} (serial ${creds.serial}, valid until ${result.notAfter}) written to ${out}\n`
          + `the collector admits ${name} once it is a user with a role: meerkat-collector user add ${name} --org ORG --role ROLE\n`
          + `next: meerkat keys operator-init --dir ${out} --name ${name}, and pin ${join(out, 'op.pub')} on the agents\n`);
    });

  op.command('list')
    .description('operator certificates issued, with revocation status')
    .option('--pki-dir <dir>', 'PKI directory')
    .option('--state-dir <dir>', 'collector state directory')
    .option('--json', 'print JSON')
    .action((o: { pkiDir?: string; stateDir?: string; json?: boolean }) => {
      const dir = pkiDirOf(o);
      const rev = asUsage(() => loadRevocations(dir));
      const rows = listOperators(dir).map((r) => ({ ...r, revoked: rev.isRevoked(OPERATOR_REVOCATION_PREFIX + r.name, r.serial) }));
      if (o.json) process.stdout.write(JSON.stringify(rows) + '\n');
      else if (rows.length === 0) process.stdout.write('no operator certificates issued\n');
      else for (const r of rows) process.stdout.write(`${r.name}  ${r.serial}  until ${r.notAfter}${r.revoked ? '  REVOKED' : ''}\n`);
    });

  op.command('revoke')
    .description('revoke every certificate of an operator; the admin API refuses it within a second')
    .argument('<name>', 'operator name')
    .option('--pki-dir <dir>', 'PKI directory')
    .option('--state-dir <dir>', 'collector state directory')
    .option('--reason <text>', 'why', 'revoked by administrator')
    .option('--json', 'print JSON')
    .action((name: string, o: { pkiDir?: string; stateDir?: string; reason: string; json?: boolean }) => {
      const dir = pkiDirOf(o);
      const paths = pkiPaths(dir);
      const ca = asUsage(() => loadCa(paths.caCert, paths.caKey));
      const serials = operatorSerials(dir, name);
      if (serials.length === 0) throw new UsageError(`no operator certificate was issued to ${JSON.stringify(name)}`);
      const list = RevocationList.load(paths.revocations, ca.certPem);
      const data = list.withRevoked(OPERATOR_REVOCATION_PREFIX + name, serials, o.reason);
      const entries: CrlEntry[] = data.entries.flatMap((e) => e.serials.map((serial) => ({ serial, revokedAt: new Date(e.revokedAt) })));
      writeFileAtomic(paths.crl, buildCrl(ca, entries, data.crlNumber), PUBLIC_MODE);
      saveRevocationList(paths.revocations, ca, data);
      process.stdout.write(o.json ? JSON.stringify({ name, serials, crlNumber: data.crlNumber }) + '\n' : `revoked operator ${name} (${serials.length} certificate(s)); CRL number ${data.crlNumber}\n`);
    });

  group(program, 'keys', 'key material')
    .command('operator-init')
    .description('create the operator\'s Ed25519 command signing key: op.key (0600) and op.pub (pin it on agents)')
    .option('--dir <dir>', 'operator directory (default $MEERKAT_OPERATOR_DIR or ~/.meerkat/operator)')
    .requiredOption('--name <name>', 'operator name recorded with the key (shown in audits)')
    .option('--force', 'replace an existing key (the old files are kept, renamed; agents must pin the new op.pub)')
    .option('--json', 'print JSON')
    .action((o: { dir?: string; name: string; force?: boolean; json?: boolean }) => {
      const dir = operatorDir(o.dir);
      const r = asUsage(() => initOperatorKeys(dir, { name: o.name, force: o.force === true }));
      process.stdout.write(o.json ? JSON.stringify({ dir, keyId: r.keyId, files: r.files, replaced: r.replaced }) + '\n'
        : `operator signing key ${r.keyId} created in ${dir}\n${r.files.map((f) => `  ${f}\n`).join('')}`
          + `pin it on each agent: meerkat-agent operator-key add ${join(dir, 'op.pub')} --state-dir AGENT_STATE_DIR\n`);
    });
}
