// Config key "responses": rules turning new alerts into signed commands for the agent.
//   responses: [{ category: "threat-intel", minSeverity: "high", minScore: 0.9,
//                 command: { type: "capture-full", forSec: 600 } | { type: "capture-retro", beforeSec: 300 }
//                        | { type: "isolate", forSec: 3600 },
//                 expiresSec: 900, rateLimit: { perAgentPerHour: 6, globalPerHour: 60 } }]
// Plus "responseKeyDir" (default <stateDir>/response-key). Pure.
import { z } from 'zod';
import { validateConfig } from '../../shared/config/load-config.js';
import { COMMAND_LIMITS } from '../../shared/commands/command-limits.js';

const severity = z.enum(['low', 'medium', 'high', 'critical']);

const responseRuleSchema = z.object({
  /** alert category this rule answers (e.g. "threat-intel") */
  category: z.string().min(1),
  /** only alerts of this rule within the category (e.g. "ip:feodo"); default any */
  rule: z.string().min(1).optional(),
  minSeverity: severity.default('high'),
  /** only alerts whose evidence has a numeric `score` at least this (beacon score, machine signature anomaly) */
  minScore: z.number().min(0).optional(),
  /** how long the command may wait for an offline agent, seconds (default 900) */
  expiresSec: z.number().int().min(60).max(7 * 86_400).default(900),
  command: z.discriminatedUnion('type', [
    /** full payload capture of the alert's peer on the alert's agent */
    z.object({ type: z.literal('capture-full'), forSec: z.number().int().min(1).max(COMMAND_LIMITS.peerCapture.maxMs / 1000).default(600), snapLen: z.number().int().min(1).max(COMMAND_LIMITS.snapLen.max).default(COMMAND_LIMITS.snapLen.max) }).strict(),
    /**
     * ship the agent's retro ring: from `beforeSec` before the alert's first packet (or the first
     * beacon of a beacon alert) until the agent pulls; `scope` "peer" (default) the alert's peer
     * only (an alert without a peer is skipped), "host" every peer of the host (bounded by the agent)
     */
    z.object({ type: z.literal('capture-retro'), beforeSec: z.number().int().min(0).max(86_400).default(300), scope: z.enum(['peer', 'host']).default('peer') }).strict(),
    /** cut the host off except its management channel */
    z.object({ type: z.literal('isolate'), forSec: z.number().int().min(1).max(COMMAND_LIMITS.interdiction.maxMs / 1000).optional() }).strict(),
  ]),
  rateLimit: z.object({
    perAgentPerHour: z.number().int().min(0).default(6),
    globalPerHour: z.number().int().min(0).default(60),
  }).strict().default({ perAgentPerHour: 6, globalPerHour: 60 }),
}).strict();

export type ResponseRule = z.output<typeof responseRuleSchema>;
export type ResponseRuleInput = z.input<typeof responseRuleSchema>;

const responsesConfigSchema = z.array(responseRuleSchema).max(100).default([]);

/** @throws ConfigError naming the key */
export function parseResponsesConfig(raw: unknown, source = 'config key "responses"'): ResponseRule[] {
  return validateConfig(responsesConfigSchema, raw ?? [], source);
}
