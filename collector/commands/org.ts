// `meerkat-collector org create|list|show|suspend|resume|delete`: provisioning and
// decommissioning network owners on this collector (collector/orgs/provision.ts), run on the
// collector host. create prints what the owner needs to start; delete asks for --yes.
// Exit 0 ok, 1 failure (an organisation that exists, is unknown or deleted), 2 usage. With a
// `scaleOut` section in the configuration each step is also written to its PostgreSQL (the
// organisation's row, state and CA certificate; the first token is made there), which the
// scale-out front-ends follow; `org publish` writes one made before (collector/scale/org-sync.ts).
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { ONE_SECOND_OR_MORE, parseDuration } from '../../shared/cli/duration.js';
import { checkOrgId } from '../../shared/orgs/org-id.js';
import { EnrollTokenStore } from '../../certs/enroll-tokens.js';
import { certFingerprintHex } from '../../certs/fingerprint.js';
import { hasOrgCa, readOrgCaCert } from '../../certs/org-ca.js';
import { readCaCert } from '../../certs/pki-dir.js';
import { loadOrgConfig, effectiveOrgConfig } from '../orgs/org-config.js';
import { orgPaths } from '../orgs/org-paths.js';
import { createOrganisation, deleteOrganisation, folderBytes, resumeOrganisation, suspendOrganisation } from '../orgs/provision.js';
import { hostFrom } from './host-options.js';
import { issuePgToken, publishOrganisation, withScaleOutRecords } from '../scale/org-sync.js';
import type { CollectorState } from '../orgs/collector-state.js';

/** Writes the organisation's new state to the scale-out PostgreSQL when the configuration has one; what was written, or null. */
function publishIfScaleOut(f: StateFlags, s: CollectorState, id: string): Promise<{ agents: number } | null> {
  const cfg = hostFrom(f).config;
  return withScaleOutRecords(cfg, (r) => publishOrganisation(r, s, id, cfg));
}
import { cliActor, print, stateOptions, withState, type StateFlags } from './state-options.js';

interface CreateFlags extends StateFlags { name?: string; tokenUses: number; tokenExpires: string; token: boolean; caBits?: number }

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('organisations (network owners) on this collector: create, list, show, suspend, resume, delete');

  stateOptions(org.command('create')
    .description('provision an organisation: its CA, its folder, a first enrollment token; prints what its owner needs')
    .argument('<id>', 'organisation id: 1-32 characters a-z, 0-9, inner -')
    .option('--name <text>', 'display name')
    .option('--token-uses <n>', 'uses of the first enrollment token', parseIntOption('--token-uses', 1, 1_000_000), 1)
    .option('--token-expires <duration>', 'lifetime of the first token (e.g. 24h, 7d)', '24h')
    .option('--no-token', 'no first token')
    .option('--ca-bits <n>', 'organisation CA key size (default 3072)', parseIntOption('--ca-bits', 2048, 8192)))
    .action(async (id: string, f: CreateFlags) => {
      checkOrgId(id);
      const expiresInSec = parseDuration(f.tokenExpires, '--token-expires', ONE_SECOND_OR_MORE) / 1000;
      const cfg = hostFrom(f).config;
      const scaleOut = (cfg as Record<string, unknown>).scaleOut !== undefined;
      await withState(f, async (s) => {
        // scale-out: the first token is made in PostgreSQL, where the front-ends look for it
        const firstToken = f.token ? { uses: f.tokenUses, expiresInSec } : null;
        const r = createOrganisation(s, { id, ...(f.name ? { name: f.name } : {}), actor: cliActor(), ...(firstToken && !scaleOut ? { firstToken } : {}), ...(f.caBits ? { caBits: f.caBits } : {}) });
        if (scaleOut) {
          await withScaleOutRecords(cfg, async (rec) => {
            await publishOrganisation(rec, s, id, cfg);
            if (firstToken) {
              const t = await issuePgToken(rec, s, { org: id, ...firstToken });
              r.token = { token: t.token, id: t.id, org: t.org, uses: t.uses, expiresAt: new Date(t.expiresAt) };
            }
          });
        }
        const data = {
          id: r.org.id, name: r.org.name, state: r.org.state, caFingerprint: r.caFingerprintHex, rootFingerprint: r.rootFingerprintHex, rootRecertified: r.rootRecertified, scaleOut,
          token: r.token ? { token: r.token.token, id: r.token.id, uses: r.token.uses, expiresAt: r.token.expiresAt.toISOString() } : null,
        };
        print(f, data, [
          `organisation ${id} created${r.rootRecertified ? ' (the root certificate was certified again with pathlen 1: same key, enrolled agents unaffected)' : ''}`,
          `  CA of its agents, SHA-256:        ${r.caFingerprintHex}`,
          `  collector root (agents pin it), SHA-256: ${r.rootFingerprintHex}`,
          r.token ? `  first enrollment token (${r.token.uses} use(s), until ${r.token.expiresAt.toISOString()}):\n    ${r.token.token}` : '  no enrollment token (meerkat-collector token create)',
          'next, for its owner:',
          `  an operator:  meerkat-collector user add NAME --org ${id} --role admin --cert-out DIR      (here, on the collector host)`,
          `                meerkat keys operator-init --operator-dir DIR --name NAME                    (on the operator's machine)`,
          `                and in its ~/.meerkat/config.json "org": "${id}" (or --org ${id}, or MEERKAT_ORG=${id})`,
          `  the owner's keys (anon.key, box.key, box.pub) stay with the owner: meerkat keys init`,
          `  each agent:   meerkat-agent enroll --collector https://COLLECTOR:8443 --token TOKEN --anon-key anon.key --box-pub box.pub --operator-key DIR/op.pub`,
        ].join('\n'));
      });
    });

  stateOptions(org.command('list')
    .description('organisations and their state')
    .option('--all', 'deleted ones too'))
    .action(async (f: StateFlags & { all?: boolean }) => {
      await withState(f, (s) => {
        const rows = s.orgs.list({ includeDeleted: f.all === true }).map((o) => ({ id: o.id, name: o.name, state: o.state, agents: s.orgs.countAgents(o.id), members: s.users.membersOf(o.id).length, createdAt: o.createdAt.toISOString() }));
        print(f, rows, rows.length === 0 ? 'no organisations' : rows.map((r) => `${r.id.padEnd(20)} ${r.state.padEnd(9)} agents ${String(r.agents).padStart(5)}  members ${String(r.members).padStart(3)}  ${r.name}`).join('\n'));
      });
    });

  stateOptions(org.command('show')
    .description('one organisation: state, CA, agents, members, tokens, settings over the defaults, bytes kept')
    .argument('<id>', 'organisation id'))
    .action(async (id: string, f: StateFlags) => {
      await withState(f, (s) => {
        const o = s.orgs.require(checkOrgId(id));
        const paths = orgPaths(s.stateDir, id);
        const eff = o.state === 'deleted' ? null : effectiveOrgConfig(hostFrom(f).config, id, loadOrgConfig(paths.config), paths.config);
        const tokens = (() => { const t = EnrollTokenStore.open(s.stateDir); try { return t.list(id); } finally { t.close(); } })();
        const now = Date.now();
        const caPem = o.legacyRoot ? readCaCert(s.pkiDir) : hasOrgCa(s.pkiDir, id) ? readOrgCaCert(s.pkiDir, id) : null;
        const data = {
          id: o.id, name: o.name, state: o.state, stateReason: o.stateReason, createdAt: o.createdAt.toISOString(),
          ca: caPem ? { fingerprint: certFingerprintHex(caPem), legacyRoot: o.legacyRoot } : null,
          agents: s.orgs.countAgents(id), members: s.users.membersOf(id),
          tokens: { active: tokens.filter((t) => !t.revokedAt && t.usesLeft > 0 && t.expiresAt.getTime() > now).length, total: tokens.length },
          quotas: eff?.quotas ?? null, settings: paths.config, bytesKept: folderBytes(paths.dir),
        };
        print(f, data, [
          `${o.id} (${o.name}): ${o.state}${o.stateReason ? ` - ${o.stateReason}` : ''}, created ${data.createdAt}`,
          `  CA SHA-256: ${data.ca?.fingerprint ?? '-'}${o.legacyRoot ? ' (the collector root, pre-organisation installation)' : ''}`,
          `  agents: ${data.agents}   tokens active: ${data.tokens.active} of ${data.tokens.total}   bytes kept: ${data.bytesKept}`,
          `  quotas: ${JSON.stringify(data.quotas ?? {})}   settings: ${paths.config}`,
          `  members: ${data.members.map((m) => `${m.user} (${m.role}${m.disabled ? ', disabled' : ''})`).join(', ') || 'none'}`,
        ].join('\n'));
      });
    });

  stateOptions(org.command('suspend')
    .description('refuse its agents\' uploads (they keep spooling) and its operators, keeping its data')
    .argument('<id>', 'organisation id')
    .option('--reason <text>', 'why (audited, shown to its operators)', ''))
    .action(async (id: string, f: StateFlags & { reason: string }) => {
      await withState(f, async (s) => {
        const o = suspendOrganisation(s, checkOrgId(id), { actor: cliActor(), reason: f.reason });
        await publishIfScaleOut(f, s, id);
        print(f, { id: o.id, state: o.state }, `organisation ${id} suspended; a running collector disconnects its agents within a second`);
      });
    });

  stateOptions(org.command('resume')
    .description('take a suspended organisation back into service')
    .argument('<id>', 'organisation id'))
    .action(async (id: string, f: StateFlags) => {
      await withState(f, async (s) => {
        const o = resumeOrganisation(s, checkOrgId(id), { actor: cliActor() });
        await publishIfScaleOut(f, s, id);
        print(f, { id: o.id, state: o.state }, `organisation ${id} active again`);
      });
    });

  stateOptions(org.command('delete')
    .description('decommission: revoke its CA and every agent certificate, delete its tokens, memberships and data')
    .argument('<id>', 'organisation id')
    .option('--yes', 'really: this removes its flows, alerts, dumps and audit for good')
    .option('--reason <text>', 'why (audited)', ''))
    .action(async (id: string, f: StateFlags & { yes?: boolean; reason: string }) => {
      checkOrgId(id);
      if (!f.yes) throw new UsageError(`deleting ${id} removes its data for good and refuses its agents from now on; run again with --yes`);
      await withState(f, async (s) => {
        const r = deleteOrganisation(s, id, { actor: cliActor(), reason: f.reason });
        await publishIfScaleOut(f, s, id);
        print(f, r, `organisation ${id} deleted: ${r.agentsRevoked} agent(s) and ${r.certificatesRevoked} certificate(s) revoked (CRL ${r.crlNumber}), ${r.tokensDeleted} token(s) and ${r.membershipsRemoved} membership(s) removed, ${r.bytesRemoved} bytes of data removed`);
      });
    });

  stateOptions(org.command('publish')
    .description('write an organisation of this host to the scale-out PostgreSQL of the configuration (its state, CA certificate, quotas and agents): for one made before the scaleOut section, or after changing its quotas')
    .argument('<id>', 'organisation id'))
    .action(async (id: string, f: StateFlags) => {
      checkOrgId(id);
      await withState(f, async (s) => {
        const r = await publishIfScaleOut(f, s, id);
        if (r === null) throw new UsageError('the configuration has no scaleOut section: there is no PostgreSQL to publish to (docs/scale-out.md)');
        print(f, { id, agents: r.agents }, `organisation ${id} written to PostgreSQL (${r.agents} agent(s) new there)`);
      });
    });
}
