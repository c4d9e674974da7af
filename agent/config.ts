// The agent's configuration: schema, defaults and loading. One JSON file: --config FILE, else
// $MEERKAT_AGENT_CONFIG, else /etc/meerkat/agent.json (%ProgramData%\Meerkat\agent.json on
// Windows) when it exists; every key is optional, an unknown key is an error naming it
// (docs/configuration.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { loadConfigFile } from '../shared/config/load-config.js';
import '../shared/config/schema-messages.js';
import { COMMAND_LIMITS as L } from '../shared/commands/command-limits.js';

const policy = z.enum(['internal', 'all', 'none']);
const defaultInterfaces = process.platform === 'linux' ? 'any' : 'all';
/** where the packages put the state: /var/lib/meerkat-agent; %ProgramData%\Meerkat\agent on Windows */
const defaultStateDir = process.platform === 'win32'
  ? `${process.env.ProgramData ?? 'C:\\ProgramData'}\\Meerkat\\agent`
  : '/var/lib/meerkat-agent';
/** where the packages put the configuration */
export const AGENT_CONFIG_FILE = process.platform === 'win32'
  ? `${process.env.ProgramData ?? 'C:\\ProgramData'}\\Meerkat\\agent.json`
  : '/etc/meerkat/agent.json';
export const AGENT_CONFIG_ENV = 'MEERKAT_AGENT_CONFIG';

const agentConfigSchema = z.strictObject({
  /** where the agent keeps its identity, keys and spool (owned by the service account) */
  stateDir: z._default(z.string().check(z.minLength(1)), defaultStateDir),
  logLevel: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']), 'info'),
  capture: z._default(
    z.strictObject({
      /**
       * "any" (Linux: one session on the any-device, survives interfaces coming and going, VPNs
       * included), "all" (one session per up interface) or a list of interface names
       */
      interfaces: z._default(z.union([z.literal('any'), z.literal('all'), z.array(z.string().check(z.minLength(1))).check(z.minLength(1))]), defaultInterfaces),
      /** extra BPF filter ANDed with the agent's own exclusions */
      bpf: z._default(z.string(), ''),
      /** libpcap ring per capture session in bytes at the header snap length (docs/capture.md, "Ring and snap length") */
      bufferBytes: z._default(z.int().check(z.gte(1 << 20), z.lte(1 << 30)), 2 << 20),
      /** let link-local noise through for this many seconds after start (0 = never) */
      noiseSampleSeconds: z._default(z.int().check(z.gte(0), z.lte(3600)), 0),
    }),
    { interfaces: defaultInterfaces, bpf: '', bufferBytes: 2 << 20, noiseSampleSeconds: 0 },
  ),
  anonymize: z._default(
    z.strictObject({
      policy: z._default(policy, 'internal'),
      /** owner-declared internal prefixes; the defaults cover RFC 1918, CGNAT, ULA, link-local */
      internalPrefixes: z.optional(z.array(z.string())),
      /** the owner's anonymization key (installed with the agent) */
      keyFile: z.optional(z.string()),
      macs: z._default(z.enum(['pseudonym', 'drop']), 'pseudonym'),
      /** domain names in metadata: internal ones (or all) become name pseudonyms (docs/privacy.md, "Domain names") */
      names: z._default(policy, 'internal'),
      /** owner-declared internal DNS suffixes (default: local, lan, home.arpa, internal, corp, ...) */
      internalSuffixes: z.optional(z.array(z.string().check(z.minLength(1)))),
    }),
    { policy: 'internal', macs: 'pseudonym', names: 'internal' },
  ),
  metadata: z._default(
    z.strictObject({
      /** extract DNS, TLS (JA4), HTTP and QUIC metadata into the dumps (docs/capture.md, "Application metadata") */
      enabled: z._default(z.boolean(), true),
      /** payload bytes live capture delivers for extraction (never shipped unless dump.snapLen says so) */
      captureBytes: z._default(z.int().check(z.gte(0), z.lte(65535)), 1500),
    }),
    { enabled: true, captureBytes: 1500 },
  ),
  dump: z._default(
    z.strictObject({
      packetsPerDump: z._default(z.int().check(z.gte(L.dumpPackets.min), z.lte(L.dumpPackets.max)), 20_000),
      maxSeconds: z._default(z.number().check(z.gte(L.dumpSeconds.min), z.lte(L.dumpSeconds.max)), 120),
      /** payload bytes kept per packet (0 = headers only) */
      snapLen: z._default(z.int().check(z.gte(L.snapLen.min), z.lte(L.snapLen.max)), 0),
    }),
    { packetsPerDump: 20_000, maxSeconds: 120, snapLen: 0 },
  ),
  spool: z._default(
    z.strictObject({
      maxBytes: z._default(z.int().check(z.gte(1 << 20)), 512 << 20),
    }),
    { maxBytes: 512 << 20 },
  ),
  collector: z.optional(z.strictObject({ url: z.url() })),
  /** the retro ring: recent packets with payload on this disk, encrypted, shipped only on a signed request (docs/pcap.md) */
  retro: z._default(
    z.strictObject({
      /** off unless the owner's policy turns it on */
      enabled: z._default(z.boolean(), false),
      /** packet time kept at least, seconds */
      seconds: z._default(z.int().check(z.gte(10), z.lte(86_400)), 300),
      /** bytes on disk at most */
      maxBytes: z._default(z.int().check(z.gte(1 << 20)), 256 << 20),
      /** payload bytes kept per packet (the capture's snap length follows) */
      snapLen: z._default(z.int().check(z.gte(1), z.lte(65535)), 1600),
      /** dump bytes one pull may ship at most (also at most a quarter of the spool's free room) */
      maxPullBytes: z._default(z.int().check(z.gte(1 << 20)), 64 << 20),
    }),
    { enabled: false, seconds: 300, maxBytes: 256 << 20, snapLen: 1600, maxPullBytes: 64 << 20 },
  ),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** The configuration file every sub-command reads: the flag, the environment, or the default when it exists (null: defaults). */
export function agentConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  if (flag) return flag;
  if (env[AGENT_CONFIG_ENV]) return env[AGENT_CONFIG_ENV];
  return existsSync(AGENT_CONFIG_FILE) ? AGENT_CONFIG_FILE : null;
}

/** The configuration, found as agentConfigFile says. @throws ConfigError naming the file and key */
export function loadAgentConfig(flag: string | undefined): AgentConfig {
  return loadConfigFile(agentConfigSchema, agentConfigFile(flag) ?? undefined);
}

/** The owner's anonymization key: anonymize.keyFile, else <stateDir>/anon.key. */
export function anonKeyPath(cfg: Pick<AgentConfig, 'stateDir' | 'anonymize'>): string {
  return cfg.anonymize.keyFile ?? join(cfg.stateDir, 'anon.key');
}

/** The schema (docs/configuration.md lists its keys; a test holds the two together). */
export { agentConfigSchema };
