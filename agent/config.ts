// The agent's configuration: schema, defaults and loading. One JSON file
// (default /etc/meerkat/agent.json); every key is optional.
import { z } from 'zod';
import { loadConfigFile } from '../shared/config/load-config.js';

const policy = z.enum(['internal', 'all', 'none']);

export const agentConfigSchema = z
  .object({
    /** where the agent keeps its identity, keys and spool (owned by the service account) */
    stateDir: z.string().min(1).default('/var/lib/meerkat-agent'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    capture: z
      .object({
        /**
         * "any" (Linux: one session on the any-device, survives interfaces coming and going, VPNs
         * included), "all" (one session per up interface) or a list of interface names
         */
        interfaces: z.union([z.literal('any'), z.literal('all'), z.array(z.string().min(1)).min(1)]).default(process.platform === 'linux' ? 'any' : 'all'),
        /** extra BPF filter ANDed with the agent's own exclusions */
        bpf: z.string().default(''),
        /** libpcap ring per capture session in bytes at the header snap length (docs/capture.md, "Ring and snap length") */
        bufferBytes: z.number().int().min(1 << 20).max(1 << 30).default(2 << 20),
        /** let link-local noise through for this many seconds after start (0 = never) */
        noiseSampleSeconds: z.number().int().min(0).max(3600).default(0),
      })
      .strict()
      .default({ interfaces: process.platform === 'linux' ? 'any' : 'all', bpf: '', bufferBytes: 2 << 20, noiseSampleSeconds: 0 }),
    anonymize: z
      .object({
        policy: policy.default('internal'),
        /** owner-declared internal prefixes; the defaults cover RFC 1918, CGNAT, ULA, link-local */
        internalPrefixes: z.array(z.string()).optional(),
        /** the owner's anonymization key (installed with the agent) */
        keyFile: z.string().optional(),
        macs: z.enum(['pseudonym', 'drop']).default('pseudonym'),
      })
      .strict()
      .default({ policy: 'internal', macs: 'pseudonym' }),
    dump: z
      .object({
        packetsPerDump: z.number().int().min(1).max(1_000_000).default(20_000),
        maxSeconds: z.number().min(1).max(3600).default(120),
        /** payload bytes kept per packet (0 = headers only) */
        snapLen: z.number().int().min(0).max(65535).default(0),
      })
      .strict()
      .default({ packetsPerDump: 20_000, maxSeconds: 120, snapLen: 0 }),
    spool: z
      .object({
        maxBytes: z.number().int().min(1 << 20).default(512 << 20),
      })
      .strict()
      .default({ maxBytes: 512 << 20 }),
    collector: z
      .object({
        url: z.string().url(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;

export function loadAgentConfig(file: string | undefined): AgentConfig {
  return loadConfigFile(agentConfigSchema, file);
}
