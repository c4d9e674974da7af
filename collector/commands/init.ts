// `meerkat-collector init`: one step from an installed collector to a deployment agents can
// join (collector/setup/init-deployment.ts makes it). On a terminal it asks its questions
// (defaults from the flags and this host); with --non-interactive, --json or without a
// terminal it takes the flags as they are. Prints what it made and the exact commands that
// bring an endpoint online. Exit 0 ok, 1 failure (a deployment already exists), 2 usage.
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { ONE_SECOND_OR_MORE, parseDuration } from '../../shared/cli/duration.js';
import { consoleConfigFile, meerkatHome } from '../../shared/config/console-config.js';
import { checkOperatorName } from '../../certs/operator-certs.js';
import { collectorConfigTarget, COLLECTOR_STATE_DIR, CONFIG_ENV, STATE_DIR_ENV, readCollectorConfigJson } from '../collector-config.js';
import { DEFAULT_API, DEFAULT_LISTEN, DEFAULT_OPS } from '../server/server-config.js';
import { initDeployment, type InitRequest, type InitResult } from '../setup/init-deployment.js';
import { stepsText } from '../setup/agent-instructions.js';
import { Prompter } from '../setup/init-prompts.js';
import { existsSync } from 'node:fs';

interface InitFlags {
  config?: string;
  stateDir?: string;
  name: string[];
  ip: string[];
  listen: string;
  api: string;
  ops: string;
  operator?: string;
  operatorDir?: string;
  tokenUses: number;
  tokenExpires: string;
  consoleConfig: boolean;
  force: boolean;
  interactive?: boolean;
  nonInteractive?: boolean;
  json: boolean;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/;
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function collect(v: string, prev: string[]): string[] {
  return [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];
}

function checkHostPort(flag: string, v: string, off: boolean): string {
  if (off && v === 'off') return v;
  const m = HOST_PORT.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`${flag} expects host:port${off ? ' or off' : ''} (e.g. ${flag === '--listen' ? DEFAULT_LISTEN : flag === '--api' ? DEFAULT_API : DEFAULT_OPS}), got ${JSON.stringify(v)}`);
  return v;
}

/** Names and addresses split (addresses by isIP), each checked. */
function splitNames(list: readonly string[]): { names: string[]; ips: string[] } {
  const names: string[] = [];
  const ips: string[] = [];
  for (const x of list) {
    if (isIP(x.replace(/^\[(.*)\]$/, '$1'))) ips.push(x.replace(/^\[(.*)\]$/, '$1'));
    else if (DNS_NAME.test(x)) names.push(x.replace(/\.$/, ''));
    else throw new UsageError(`${JSON.stringify(x)} is neither a DNS name nor an IP address`);
  }
  return { names, ips };
}

/** This host's name and first outward IPv4 address: the default answer to "what do agents use". */
function guessNames(): string[] {
  const out = [hostname()].filter((h) => DNS_NAME.test(h));
  for (const list of Object.values(networkInterfaces())) {
    const a = list?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) { out.push(a.address); break; }
  }
  return out;
}

function defaultOperator(): string {
  const u = process.env.SUDO_USER || process.env.USER || 'admin';
  try {
    return checkOperatorName(u === 'root' ? 'admin' : u);
  } catch {
    return 'admin';
  }
}

/** The request from flags (non-interactive): everything must be given or have its default. */
function requestFromFlags(f: InitFlags, names: string[]): InitRequest {
  const { names: dns, ips } = splitNames(names);
  if (dns.length === 0 && ips.length === 0) throw new UsageError('init needs at least one --name or --ip: what agents use to reach this collector');
  const configFile = collectorConfigTarget(f.config);
  // a state dir given by flag or environment wins; else the one an existing config names (init --force), else the default
  const existing = !f.force || !existsSync(configFile) ? {} : readCollectorConfigJson(configFile);
  const stateDir = f.stateDir ?? process.env[STATE_DIR_ENV] ?? (typeof existing.stateDir === 'string' ? existing.stateDir : COLLECTOR_STATE_DIR);
  const operator = checkOperatorName(f.operator ?? defaultOperator());
  return {
    configFile,
    stateDir,
    names: dns,
    ips,
    listen: checkHostPort('--listen', f.listen, false),
    api: checkHostPort('--api', f.api, true),
    ops: checkHostPort('--ops', f.ops, true),
    operator: { name: operator, dir: f.operatorDir ?? join(meerkatHome(), 'operator') },
    token: { uses: f.tokenUses, expiresInSec: parseDuration(f.tokenExpires, '--token-expires', ONE_SECOND_OR_MORE) / 1000 },
    consoleConfigFile: f.consoleConfig ? consoleConfigFile() : null,
    force: f.force,
  };
}

async function askQuestions(f: InitFlags): Promise<InitRequest | null> {
  const p = new Prompter(process.stdin, process.stderr);
  try {
    process.stderr.write('Creating a Meerkat collector deployment (press Enter to take the value in brackets).\n');
    const names = await p.ask('Names agents use to reach this collector (DNS names or IP addresses, comma-separated)',
      (f.name.length || f.ip.length ? [...f.name, ...f.ip] : guessNames()).join(', '), (t) => {
        const list = collect(t, []);
        const s = splitNames(list);
        if (s.names.length + s.ips.length === 0) throw new Error('give at least one name or address');
        return list;
      });
    const listen = await p.ask('Agents\' port (host:port)', f.listen, (t) => checkHostPort('--listen', t, false));
    const api = await p.ask('Operators\' API (host:port; 127.0.0.1 keeps it on this host, 0.0.0.0 opens it to the network; or off)', f.api, (t) => checkHostPort('--api', t, true));
    const operator = await p.ask('First operator\'s name', f.operator ?? defaultOperator(), (t) => checkOperatorName(t));
    const operatorDir = await p.ask('Operator directory (certificate and signing key)', f.operatorDir ?? join(meerkatHome(), 'operator'), (t) => t);
    const uses = await p.ask('Agents the first enrollment token may enroll', String(f.tokenUses), (t) => parseIntOption('uses', 1, 1_000_000)(t));
    const expires = await p.ask('Token lifetime (e.g. 24h, 7d)', f.tokenExpires, (t) => { parseDuration(t, 'lifetime', ONE_SECOND_OR_MORE); return t; });
    const req = requestFromFlags({ ...f, listen, api, operator, operatorDir, tokenUses: uses, tokenExpires: expires }, names);
    process.stderr.write(`\nconfiguration ${req.configFile}, state ${req.stateDir}\n`);
    return (await p.confirm('Create the deployment?')) ? req : null;
  } finally {
    p.close();
  }
}

function resultText(r: InitResult): string {
  const lines = [
    'Meerkat collector deployment created',
    `  configuration    ${r.configFile}`,
    `  state            ${r.stateDir} (PKI in ${r.pkiDir})`,
    `  CA SHA-256       ${r.caFingerprintSha256}`,
    `  agents' port     ${r.listen} (agents enroll with ${r.collectorUrl})`,
    `  operators' API   ${r.api}${r.apiUrl ? ` (${r.apiUrl})` : ''}`,
    `  ops port         ${r.ops} (/healthz, /metrics)`,
    `  operator         ${r.operator.name}: certificate and signing key ${r.operator.keyId} in ${r.operator.dir}`,
  ];
  if (r.consoleConfig) lines.push(`  console settings ${r.consoleConfig.file}${r.consoleConfig.written ? '' : ' (kept as it was: point "api" and "operatorDir" at the values above)'}`);
  if (r.chownedTo) lines.push(`  owner            state and configuration handed to uid ${r.chownedTo.uid} (the state directory's owner)`);
  lines.push(`  first token      ${r.token.token}`, `                   id ${r.token.id}, ${r.token.uses} use(s), expires ${r.token.expiresAt}`);
  lines.push('', 'Next:', '  start the collector:  meerkat-collector run    (package: sudo systemctl start meerkat-collector)');
  lines.push(stepsText(r.next).trimEnd());
  lines.push('  then, as the operator:  meerkat agents; meerkat flows');
  return lines.join('\n') + '\n';
}

export function registerInitCommand(program: Command): Command {
  return program
    .command('init')
    .description('create a deployment: PKI, configuration, the first operator (certificate and signing key), a first enrollment token, and the commands that enroll agents')
    .option('--config <file>', `configuration to write (default $${CONFIG_ENV} or /etc/meerkat-collector/collector.json)`)
    .option('--state-dir <dir>', `state directory (default $${STATE_DIR_ENV} or ${COLLECTOR_STATE_DIR})`)
    .option('--name <dns>', 'DNS name agents use to reach the collector (repeatable, or comma-separated)', collect, [] as string[])
    .option('--ip <address>', 'IP address agents use to reach the collector (repeatable, or comma-separated)', collect, [] as string[])
    .option('--listen <host:port>', 'agents\' port', DEFAULT_LISTEN)
    .option('--api <host:port|off>', 'operators\' API (0.0.0.0:9470 to reach it from other machines)', DEFAULT_API)
    .option('--ops <host:port|off>', 'ops port: /healthz and /metrics', DEFAULT_OPS)
    .option('--operator <name>', 'the first operator\'s name (default $SUDO_USER or $USER)')
    .option('--operator-dir <dir>', 'where the operator\'s certificate and signing key go (default ~/.meerkat/operator)')
    .option('--token-uses <n>', 'agents the first token may enroll', parseIntOption('--token-uses', 1, 1_000_000), 1)
    .option('--token-expires <duration>', 'lifetime of the first token, e.g. 24h, 7d', '24h')
    .option('--no-console-config', 'do not write the console settings (~/.meerkat/config.json, or $MEERKAT_CONFIG)')
    .option('--force', 'replace an existing deployment (new CA: every enrolled agent must enroll again)', false)
    .option('--interactive', 'ask the questions even without a terminal (answers line by line on stdin)')
    .option('--non-interactive', 'take the flags as they are, even on a terminal')
    .option('--json', 'print the result as JSON (never asks)', false)
    .action(async (f: InitFlags) => {
      const tty = process.stdin.isTTY === true && process.stderr.isTTY === true;
      const ask = !f.json && f.nonInteractive !== true && (f.interactive === true || tty);
      let req: InitRequest | null;
      if (ask) {
        req = await askQuestions(f);
        if (req === null) {
          process.stderr.write('nothing created\n');
          process.exitCode = 1;
          return;
        }
      } else {
        req = requestFromFlags(f, [...f.name, ...f.ip]);
      }
      const r = initDeployment(req);
      process.stdout.write(f.json ? JSON.stringify(r) + '\n' : resultText(r));
    });
}
