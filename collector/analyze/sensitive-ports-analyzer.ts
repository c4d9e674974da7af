// Built-in analyzer "sensitive-ports": a policy of ports, protocols and directions that
// should not be seen (SMB to the internet, Telnet anywhere, RDP/VNC reachable from
// outside, ...). Direction comes from FlowSides (outbound / inbound / lateral /
// transit); the service port is the responder's. Each flow is judged on its first
// record; `answered` rules fire only when the responder replied (an open service, not
// a blocked attempt). An alert says whether the responder answered, refused (RST) or
// said nothing.
import { z } from 'zod';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
import type { Severity } from '../../shared/alerts/alert-record.js';
import type { FlowDirection } from './flow-sides.js';
import { parsePortSpec, PortIndex } from './port-rules.js';

const direction = z.enum(['outbound', 'inbound', 'lateral', 'transit', 'any']);

const ruleSchema = z.object({
  name: z.string().min(1).regex(/^[\w.-]+$/, 'letters, digits, _ . - only'),
  ports: z.array(z.string().min(1)).min(1),
  directions: z.array(direction).min(1).default(['any']),
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
  /** fire only when the responder answered */
  answered: z.boolean().default(false),
  description: z.string().default(''),
}).strict();

export type PortRule = z.input<typeof ruleSchema>;

export const DEFAULT_PORT_RULES: readonly PortRule[] = [
  { name: 'smb-outbound', ports: ['tcp/445', 'tcp/139'], directions: ['outbound'], severity: 'high', description: 'SMB to the internet (credential leak, worm)' },
  { name: 'netbios-outbound', ports: ['udp/137', 'udp/138'], directions: ['outbound'], severity: 'medium', description: 'NetBIOS to the internet' },
  { name: 'smb-inbound', ports: ['tcp/445', 'tcp/139'], directions: ['inbound'], severity: 'high', description: 'SMB reachable from the internet' },
  { name: 'telnet', ports: ['tcp/23', 'tcp/2323'], directions: ['outbound', 'inbound', 'lateral'], severity: 'medium', description: 'Telnet (clear-text remote login)' },
  { name: 'rdp-inbound', ports: ['tcp/3389', 'udp/3389'], directions: ['inbound'], severity: 'high', description: 'RDP from the internet' },
  { name: 'vnc-inbound', ports: ['tcp/5900-5903'], directions: ['inbound'], severity: 'high', description: 'VNC from the internet' },
  { name: 'winrm-inbound', ports: ['tcp/5985', 'tcp/5986'], directions: ['inbound'], severity: 'high', description: 'WinRM from the internet' },
  { name: 'ssh-inbound', ports: ['tcp/22'], directions: ['inbound'], severity: 'low', answered: true, description: 'SSH server answering the internet' },
  { name: 'database-inbound', ports: ['tcp/1433', 'tcp/1521', 'tcp/3306', 'tcp/5432', 'tcp/6379', 'tcp/9200', 'tcp/27017'], directions: ['inbound'], severity: 'medium', description: 'database port reachable from the internet' },
  { name: 'snmp-inbound', ports: ['udp/161'], directions: ['inbound'], severity: 'medium', description: 'SNMP from the internet' },
  { name: 'irc-outbound', ports: ['tcp/6660-6669', 'tcp/6697', 'tcp/7000'], directions: ['outbound'], severity: 'medium', description: 'IRC (classic botnet command channel)' },
  { name: 'tftp-outbound', ports: ['udp/69'], directions: ['outbound'], severity: 'medium', description: 'TFTP to the internet' },
  { name: 'smtp-outbound', ports: ['tcp/25'], directions: ['outbound'], severity: 'medium', answered: true, description: 'direct SMTP to the internet (spam bot, not a mail server)' },
];

export const sensitivePortsConfigSchema = z.object({
  /** start from DEFAULT_PORT_RULES (default true) */
  useDefaults: z.boolean().default(true),
  /** names of default rules to drop */
  disable: z.array(z.string()).default([]),
  /** more rules (a rule with a default's name replaces it) */
  rules: z.array(ruleSchema).default([]),
}).strict();

interface CompiledRule {
  name: string;
  directions: Set<FlowDirection | 'any'>;
  severity: Severity;
  answered: boolean;
  description: string;
}

/** How the responder reacted: a service answered, refused the connection (RST), or said nothing. */
export type Reply = 'answered' | 'refused' | 'unanswered';

export function replyOf(rec: FlowRecord): Reply {
  // REJ: the SYN was answered by RST; RSTRH: only the responder's RST was seen
  if (rec.conn_state === 'REJ' || rec.conn_state === 'RSTRH') return 'refused';
  if (rec.resp_pkts === 0 || rec.conn_state === 'RSTOS0') return 'unanswered';
  return 'answered';
}

export class SensitivePortsAnalyzer implements Analyzer<z.output<typeof sensitivePortsConfigSchema>> {
  name = 'sensitive-ports';
  private index = new PortIndex<CompiledRule>();
  rules: string[] = [];

  readonly configSchema = sensitivePortsConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: z.output<typeof sensitivePortsConfigSchema>): void {
    const byName = new Map<string, PortRule>();
    if (config.useDefaults) for (const d of DEFAULT_PORT_RULES) if (!config.disable.includes(d.name)) byName.set(d.name, d);
    for (const rule of config.rules) byName.set(rule.name, rule);
    for (const raw of byName.values()) {
      const rule = ruleSchema.parse(raw);
      const c: CompiledRule = {
        name: rule.name, directions: new Set(rule.directions), severity: rule.severity, answered: rule.answered,
        description: rule.description,
      };
      for (const p of rule.ports) this.index.add(parsePortSpec(p), c);
    }
    this.rules = [...byName.keys()];
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    if (rec.record_seq !== 0) return;
    const rules = this.index.get(rec.ip_proto, rec.resp_port);
    if (rules.length === 0) return;
    const s = ctx.sides(rec);
    const reply = replyOf(rec);
    const ans = reply === 'answered';
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!rule.directions.has('any') && !rule.directions.has(s.direction)) continue;
      if (rule.answered && !ans) continue;
      ctx.emit({
        severity: rule.severity,
        category: 'sensitive-port',
        rule: rule.name,
        agentId: rec.agent_id,
        host: s.localAddr,
        flowUid: rec.uid,
        communityId: rec.community_id,
        peer: s.remoteAddr,
        summary: `${s.direction} ${rec.proto}/${rec.resp_port}${rule.description ? ` (${rule.description})` : ''}: ` +
          `${rec.orig_addr}:${rec.orig_port} -> ${rec.resp_addr}:${rec.resp_port}${ans ? '' : `, ${reply}`}`,
        evidence: {
          rule: rule.name, direction: s.direction, proto: rec.proto, port: rec.resp_port, orig: rec.orig_addr,
          resp: rec.resp_addr, connState: rec.conn_state, answered: ans, reply, origBytes: rec.orig_ip_bytes, respBytes: rec.resp_ip_bytes,
        },
        tsUs: rec.start,
      });
    }
  }
}
