// `meerkat-agent enroll`: enroll this host with a collector using a one-time token. The
// key pair is generated here and the private key stays in <state-dir>/identity (0600). With
// --anon-key / --box-pub it also installs the network owner's keys the agent runs with, and
// with --operator-key it pins the operators' public keys: one command readies an endpoint.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError } from '../../shared/cli/run-cli.js';
import { EnrollTokenError } from '../../certs/errors.js';
import { hasAgentIdentity, loadAgentIdentity } from '../transport/agent-identity.js';
import { CollectorUrlError } from '../transport/collector-url.js';
import { anonKeyPath, loadAgentConfig } from '../config.js';
import { pinOperatorKeys } from '../control/pinned-keys.js';
import { loadOperatorPublicKey } from '../../shared/commands/operator-keys.js';
import { checkOwnerKeyFiles, installOwnerKeys } from '../owner-key-install.js';

interface EnrollFlags {
  collector?: string;
  token?: string;
  stateDir?: string;
  config?: string;
  force: boolean;
  json: boolean;
  operatorKey?: string[];
  anonKey?: string;
  boxPub?: string;
}

export function register(program: Command): Command {
  return program
    .command('enroll')
    .description('enroll this agent with a collector (token from `meerkat-collector token create`); install the owner\'s keys and pin operator keys')
    .option('--collector <url>', 'collector address, https://host:port (default: collector.url from the config)')
    .option('--token <token>', 'enrollment token (or $MEERKAT_ENROLL_TOKEN)')
    .option('--state-dir <dir>', 'agent state directory (default: stateDir from the config)')
    .option('--config <file>', 'agent config file')
    .option('--force', 'enroll again even if this agent already has an identity', false)
    .option('--operator-key <file...>', "pin these operators' public keys (op.pub): only commands they sign change this host")
    .option('--anon-key <file>', "install the network owner's anon.key (from `meerkat keys init`): the agent pseudonymizes with it")
    .option('--box-pub <file>', "install the owner's box.pub: the inventory's sensitive half is sealed to it")
    .option('--json', 'print the result as JSON', false)
    .action(async (o: EnrollFlags) => {
      const cfg = loadAgentConfig(o.config);
      const stateDir = o.stateDir ?? cfg?.stateDir;
      const collector = o.collector ?? cfg?.collector?.url;
      const token = o.token ?? process.env.MEERKAT_ENROLL_TOKEN;
      if (!stateDir) throw new UsageError('no state directory: pass --state-dir or set stateDir in the config');
      const anonKeyTarget = anonKeyPath({ ...cfg, stateDir });
      if (!collector) throw new UsageError('no collector address: pass --collector https://host:port or set collector.url in the config');
      if (!token) throw new UsageError('no token: pass --token or set MEERKAT_ENROLL_TOKEN');
      if (hasAgentIdentity(stateDir) && !o.force) {
        let who = 'an agent';
        try { who = `agent ${loadAgentIdentity(stateDir).agentId}`; } catch { /* broken identity: still refuse without --force */ }
        throw new UsageError(`${stateDir} already holds the identity of ${who}; use --force to enroll again`);
      }
      // a bad key file must fail before the token is spent
      for (const f of o.operatorKey ?? []) {
        try { loadOperatorPublicKey(f); } catch (e) { throw new UsageError(e instanceof Error ? e.message : String(e)); }
      }
      const ownerKeys = { ...(o.anonKey ? { anonKey: o.anonKey } : {}), ...(o.boxPub ? { boxPub: o.boxPub } : {}) };
      try { checkOwnerKeyFiles(ownerKeys); } catch (e) { throw new UsageError(e instanceof Error ? e.message : String(e)); }
      // enrollment (node-forge for the CSR, https, token parsing) is loaded only here, so the
      // long-running `run` never carries it
      const { enrollAgent } = await import('../transport/enroll-client.js');
      let id;
      try {
        id = await enrollAgent({ collectorUrl: collector, token, stateDir });
      } catch (e) {
        if (e instanceof EnrollTokenError || e instanceof CollectorUrlError) throw new UsageError(e.message);
        throw e;
      }
      // pinned here, from files the installer brought, never from the network
      const pinned = o.operatorKey ? pinOperatorKeys(stateDir, o.operatorKey) : [];
      const installed = installOwnerKeys(stateDir, anonKeyTarget, ownerKeys);
      const result = { agentId: id.agentId, collector: id.collectorUrl, certificateExpires: id.notAfter.toISOString(), stateDir, operatorKeysPinned: pinned.length, ownerKeysInstalled: installed };
      if (o.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      process.stdout.write(`enrolled as agent ${id.agentId} with ${id.collectorUrl}; certificate valid until ${id.notAfter.toISOString()}\n`);
      for (const f of installed) process.stdout.write(`  installed ${f}\n`);
      if (pinned.length) process.stdout.write(`  pinned ${pinned.length} operator key(s)\n`);
      if (!existsSync(anonKeyTarget) && cfg.anonymize.policy !== 'none') process.stdout.write(`note: no anonymization key at ${anonKeyTarget} yet: the agent does not run without it (enroll again with --force --anon-key FILE, or copy the owner's anon.key there, mode 0600)\n`);
      process.stdout.write('start it: meerkat-agent run (the package\'s service starts by itself)\n');
    });
}
