// The "alerts" key of the collector configuration: outputs and when they are notified.
//   "alerts": { "notify": "new-and-escalated",
//               "outputs": [ { "type": "jsonl", "path": "/var/log/meerkat/alerts.jsonl" },
//                            { "type": "syslog", "transport": "tcp", "host": "siem.example", "port": 6514 },
//                            { "type": "webhook", "url": "https://hooks.example/meerkat" } ] }
import { z } from 'zod';
import { SYSLOG_FACILITIES } from './outputs/syslog-format.js';

const output = z.discriminatedUnion('type', [
  z.object({ type: z.literal('jsonl'), path: z.string().min(1) }).strict(),
  z.object({
    type: z.literal('syslog'),
    transport: z.enum(['udp', 'tcp']).default('udp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(514),
    facility: z.enum(Object.keys(SYSLOG_FACILITIES) as [keyof typeof SYSLOG_FACILITIES, ...Array<keyof typeof SYSLOG_FACILITIES>]).default('local0'),
    appName: z.string().min(1).default('meerkat'),
    hostname: z.string().min(1).optional(),
    sdId: z.string().min(1).optional(),
    maxQueue: z.number().int().min(1).optional(),
  }).strict(),
  z.object({
    type: z.literal('webhook'),
    url: z.url(),
    headers: z.record(z.string(), z.string()).default({}),
    maxQueue: z.number().int().min(1).default(1000),
    maxRetries: z.number().int().min(0).max(20).default(5),
    backoffMs: z.number().int().min(1).default(500),
    maxBackoffMs: z.number().int().min(1).default(30_000),
    timeoutMs: z.number().int().min(100).default(10_000),
  }).strict(),
]);

export const alertsConfigSchema = z.object({
  /** which changes reach the outputs: only new alerts, new and escalated (default), or every occurrence batch */
  notify: z.enum(['new', 'new-and-escalated', 'every']).default('new-and-escalated'),
  outputs: z.array(output).default([]),
  /** distinct keys held in memory between flushes; more are dropped and counted (default 50000) */
  maxPending: z.number().int().min(1).default(50_000),
}).strict();

export type AlertOutputConfig = z.output<typeof output>;
