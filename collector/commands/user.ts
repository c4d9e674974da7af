// `meerkat-collector user add|passwd|disable|enable|list|grant|revoke|admin`: the collector's
// users (collector/users/), run on the collector host. A user signs in to the API with an
// operator certificate whose CN is their name (`add --cert-out DIR` issues one) and, once the
// web console exists, with a password; what they may do is their role in each organisation
// (viewer, responder, admin) - collector administrators manage organisations and users but see
// no organisation's traffic without a membership. Exit 0 ok, 1 failure, 2 usage.
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { checkOrgId } from '../../shared/orgs/org-id.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { checkOperatorName, issueOperatorCertificate, recordOperatorIssuance, writeOperatorCredentials } from '../../certs/operator-certs.js';
import { pkiPaths } from '../../certs/pki-dir.js';
import { isRole, ROLES } from '../users/roles.js';
import type { CollectorState } from '../orgs/collector-state.js';
import type { UserRecord } from '../users/user-store.js';
import { readNewPassword } from './read-password.js';
import { cliActor, print, stateOptions, withState, type StateFlags } from './state-options.js';

function role(text: string | undefined): string {
  if (text === undefined) throw new UsageError(`--role is needed with --org (${ROLES.join(', ')})`);
  if (!isRole(text)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(text)}`);
  return text;
}

function userLine(u: UserRecord): string {
  const m = u.memberships.map((x) => `${x.org}:${x.role}`).join(' ') || '-';
  return `${u.name.padEnd(24)} ${u.disabled ? 'disabled' : 'enabled '} ${u.collectorAdmin ? 'collector-admin' : '               '} ${u.hasPassword ? 'password' : 'cert-only'}  ${m}`;
}

function issueCert(s: CollectorState, name: string, dir: string, days: number | undefined): { serial: string; notAfter: string; dir: string } {
  const p = pkiPaths(s.pkiDir);
  const ca = loadCa(p.caCert, p.caKey);
  const creds = issueOperatorCertificate(ca, name, days ? { days } : {});
  recordOperatorIssuance(s.pkiDir, creds);
  writeOperatorCredentials(dir, creds, ca.certPem);
  return { serial: creds.serial, notAfter: creds.notAfter.toISOString(), dir };
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('users of the API and console: add, passwd, disable, enable, list, grant, revoke, admin');

  stateOptions(user.command('add')
    .description('add a user; optionally a role in one organisation, a password, an operator certificate')
    .argument('<name>', 'user name (letters, digits, . _ @ -): the CN of their operator certificate')
    .option('--org <id>', 'organisation to give a role in')
    .option('--role <role>', `role there: ${ROLES.join(', ')}`)
    .option('--collector-admin', 'may manage organisations and users (sees no traffic without a membership)')
    .option('--password-stdin', 'set a password read from the first line of standard input')
    .option('--password', 'set a password (asked on the terminal)')
    .option('--cert-out <dir>', 'issue an operator certificate (CN=name) into this directory')
    .option('--cert-days <n>', 'certificate validity in days (default 365)', parseIntOption('--cert-days', 1, 3650)))
    .action(async (name: string, f: StateFlags & { org?: string; role?: string; collectorAdmin?: boolean; passwordStdin?: boolean; password?: boolean; certOut?: string; certDays?: number }) => {
      checkOperatorName(name);
      const r = f.org !== undefined ? role(f.role) : undefined;
      if (f.org !== undefined) checkOrgId(f.org);
      if (f.role !== undefined && f.org === undefined) throw new UsageError('--role needs --org');
      const password = f.passwordStdin || f.password ? await readNewPassword(f.passwordStdin === true) : undefined;
      await withState(f, async (s) => {
        if (f.org !== undefined) s.orgs.require(f.org);
        const u = await s.users.add({ name, ...(password !== undefined ? { password } : {}), collectorAdmin: f.collectorAdmin === true });
        if (f.org !== undefined) s.users.grant(name, f.org, r!);
        const cert = f.certOut ? issueCert(s, name, f.certOut, f.certDays) : null;
        s.audit.record({ actor: cliActor(), action: 'user.add', org: f.org ?? null, outcome: 'ok', detail: { user: name, role: r ?? null, collectorAdmin: u.collectorAdmin, password: u.hasPassword, certificate: cert?.serial ?? null } });
        const out = s.users.get(name)!;
        print(f, { ...out, certificate: cert }, `${userLine(out)}${cert ? `\noperator certificate (serial ${cert.serial}, until ${cert.notAfter}) in ${cert.dir}\nnext: meerkat keys operator-init --dir ${cert.dir} --name ${name}` : ''}`);
      });
    });

  stateOptions(user.command('passwd')
    .description('set or replace a user\'s password (every older console session of theirs ends)')
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read it from the first line of standard input'))
    .action(async (name: string, f: StateFlags & { passwordStdin?: boolean }) => {
      const password = await readNewPassword(f.passwordStdin === true);
      await withState(f, async (s) => {
        await s.users.setPassword(name, password);
        s.audit.record({ actor: cliActor(), action: 'user.passwd', outcome: 'ok', detail: { user: name } });
        print(f, { user: name, password: true }, `password of ${name} set`);
      });
    });

  for (const [cmd, disabled] of [['disable', true], ['enable', false]] as const) {
    stateOptions(user.command(cmd)
      .description(disabled ? 'refuse the user from now on (certificate and password alike), keeping the record' : 'let a disabled user in again')
      .argument('<name>', 'user name'))
      .action(async (name: string, f: StateFlags) => {
        await withState(f, (s) => {
          s.users.setDisabled(name, disabled);
          s.audit.record({ actor: cliActor(), action: `user.${cmd}`, outcome: 'ok', detail: { user: name } });
          print(f, s.users.get(name), `user ${name} ${cmd}d`);
        });
      });
  }

  stateOptions(user.command('list').description('users, their state and memberships'))
    .action(async (f: StateFlags) => {
      await withState(f, (s) => {
        const users = s.users.list();
        print(f, users, users.length === 0 ? 'no users' : users.map(userLine).join('\n'));
      });
    });

  stateOptions(user.command('grant')
    .description('give a user a role in an organisation (replacing the role they had there)')
    .argument('<name>', 'user name')
    .requiredOption('--org <id>', 'organisation')
    .requiredOption('--role <role>', ROLES.join(', ')))
    .action(async (name: string, f: StateFlags & { org: string; role: string }) => {
      checkOrgId(f.org);
      const r = role(f.role);
      await withState(f, (s) => {
        s.users.grant(name, f.org, r);
        s.audit.record({ actor: cliActor(), action: 'user.grant', org: f.org, outcome: 'ok', detail: { user: name, role: r } });
        print(f, s.users.get(name), userLine(s.users.get(name)!));
      });
    });

  stateOptions(user.command('revoke')
    .description('withdraw a user\'s membership of an organisation')
    .argument('<name>', 'user name')
    .requiredOption('--org <id>', 'organisation'))
    .action(async (name: string, f: StateFlags & { org: string }) => {
      await withState(f, (s) => {
        if (!s.users.revoke(name, checkOrgId(f.org))) throw new UsageError(`${name} is not a member of ${f.org}`);
        s.audit.record({ actor: cliActor(), action: 'user.revoke', org: f.org, outcome: 'ok', detail: { user: name } });
        print(f, s.users.get(name), userLine(s.users.get(name)!));
      });
    });

  stateOptions(user.command('admin')
    .description('make a user a collector administrator, or not')
    .argument('<name>', 'user name')
    .argument('<on|off>', 'on or off'))
    .action(async (name: string, onOff: string, f: StateFlags) => {
      if (onOff !== 'on' && onOff !== 'off') throw new UsageError('expected on or off');
      await withState(f, (s) => {
        s.users.setCollectorAdmin(name, onOff === 'on');
        s.audit.record({ actor: cliActor(), action: 'user.admin', outcome: onOff, detail: { user: name } });
        print(f, s.users.get(name), userLine(s.users.get(name)!));
      });
    });
}
