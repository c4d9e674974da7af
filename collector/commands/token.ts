// `meerkat-collector token create|list|revoke`: the enrollment tokens of this host's collector
// (collector/setup/enroll-tokens.ts). `create` prints only the token on stdout (for
// TOKEN=$(meerkat-collector token create)), what it is on stderr; --instructions adds the
// commands that enroll an agent with it. A token belongs to one organisation (--org, default
// `default`): the agents enrolling with it join that organisation. With a `scaleOut` section in
// the configuration the tokens are those in PostgreSQL, which every front-end uses
// (collector/scale/org-sync.ts).
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { ONE_SECOND_OR_MORE, parseDuration } from '../../shared/cli/duration.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { issueEnrollToken, listEnrollTokens, revokeEnrollToken, type TokenDirs } from '../setup/enroll-tokens.js';
import { agentSteps, stepsText } from '../setup/agent-instructions.js';
import { collectorUrlOf } from '../setup/init-deployment.js';
import { hostFrom, hostOptions } from './host-options.js';
import type { CollectorHostFlags } from '../collector-config.js';
import { DEFAULT_ORG, checkOrgId } from '../../shared/orgs/org-id.js';
import { issuePgToken, listPgTokens, revokePgToken, withScaleOutRecords } from '../scale/org-sync.js';
import type { CollectorServerConfig } from '../server/server-config.js';

function dirsOf(f: CollectorHostFlags): TokenDirs & { listen: string; config: CollectorServerConfig } {
  const h = hostFrom(f);
  return { stateDir: h.stateDir, pkiDir: h.pkiDir, listen: h.config.listen, config: h.config };
}

function jsonOut(v: unknown): void {
  process.stdout.write(JSON.stringify(v) + '\n');
}

export function registerTokenCommands(program: Command): void {
  const tok = program.command('token').description('enrollment tokens: create, list, revoke (with a scaleOut section in the configuration: those in its PostgreSQL, which the front-ends use)');

  hostOptions(tok.command('create')
    .description('create a token agents enroll with (once, or --uses N times); prints the token'))
    .option('--org <id>', 'the organisation agents enrolling with it join', DEFAULT_ORG)
    .option('--uses <n>', 'how many agents may enroll with it', parseIntOption('--uses', 1, 1_000_000), 1)
    .option('--expires <duration>', 'lifetime, e.g. 30m, 24h, 7d', '24h')
    .option('--label <text>', 'a note kept with the token', '')
    .option('--instructions <url>', 'also print the commands that enroll an agent with it, for agents reaching the collector at this https://host:port')
    .option('--json', 'print the result as JSON')
    .action(async (f: CollectorHostFlags & { org: string; uses: number; expires: string; label: string; instructions?: string; json?: boolean }) => {
      const expiresInSec = parseDuration(f.expires, '--expires', ONE_SECOND_OR_MORE) / 1000;
      const dirs = dirsOf(f);
      const req = { org: checkOrgId(f.org), uses: f.uses, expiresInSec, label: f.label };
      let t;
      try {
        t = await withScaleOutRecords(dirs.config, (r) => issuePgToken(r, dirs, req)) ?? issueEnrollToken(dirs, req);
      } catch (e) {
        if (e instanceof KeyFileError) throw new UsageError(`${e.message} (create the deployment with \`meerkat-collector init\` first?)`);
        throw e;
      }
      if (f.json) return jsonOut(t);
      process.stdout.write(`${t.token}\n`);
      process.stderr.write(`token ${t.id} of organisation ${t.org}: ${t.uses} use(s), expires ${t.expiresAt}\n`);
      if (f.instructions !== undefined) {
        if (!/^https:\/\/[^/]+:\d+\/?$/.test(f.instructions)) throw new UsageError(`--instructions expects the URL agents use, https://host:port (e.g. ${collectorUrlOf(['collector.example'], [], dirs.listen)}), got ${JSON.stringify(f.instructions)}`);
        process.stderr.write(stepsText(agentSteps({ collectorUrl: f.instructions.replace(/\/$/, ''), token: t.token, operatorPub: null })));
      }
    });

  hostOptions(tok.command('list')
    .description('list tokens: id, state (active, expired, used-up, revoked), uses left (the secrets are not stored)'))
    .option('--org <id>', 'only this organisation\'s tokens')
    .option('--json', 'one JSON object per token (JSON lines)')
    .action(async (f: CollectorHostFlags & { org?: string; json?: boolean }) => {
      const dirs = dirsOf(f);
      const org = f.org === undefined ? undefined : checkOrgId(f.org);
      const rows = await withScaleOutRecords(dirs.config, (r) => listPgTokens(r, org)) ?? listEnrollTokens(dirs, org);
      if (f.json) {
        for (const r of rows) jsonOut(r);
        return;
      }
      if (rows.length === 0) process.stdout.write('no tokens\n');
      for (const r of rows) process.stdout.write(`${r.id}  ${r.org.padEnd(12)}  ${r.state.padEnd(8)}  ${r.usesLeft}/${r.usesTotal} left  expires ${r.expiresAt}${r.revokedAt ? `  revoked ${r.revokedAt}` : ''}${r.label ? `  ${r.label}` : ''}\n`);
    });

  hostOptions(tok.command('revoke')
    .description('revoke a token: no agent enrolls with it from now on (agents enrolled with it stay)')
    .argument('<id>', 'token id as `token list` prints it (or a unique prefix of at least 4 characters)'))
    .option('--org <id>', 'look for the id among this organisation\'s tokens only')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, f: CollectorHostFlags & { org?: string; json?: boolean }) => {
      const dirs = dirsOf(f);
      const org = f.org === undefined ? undefined : checkOrgId(f.org);
      const r = await withScaleOutRecords(dirs.config, (rec) => revokePgToken(rec, id, org)) ?? revokeEnrollToken(dirs, id, org);
      if (f.json) return jsonOut(r);
      process.stdout.write(`${r.alreadyRevoked ? 'already revoked' : 'revoked'}: token ${r.token.id} (${r.token.usesLeft}/${r.token.usesTotal} uses were left)\n`);
    });
}
