// Built-in analyzer "machine-exceptions": per-agent rules of what is normal or
// forbidden for that machine - allowed/forbidden peers (CIDRs, "internal", "external"),
// allowed/forbidden ports, and hours of activity (in packet time, with a UTC offset).
// Anything outside an allow list, or on a forbid list, raises an alert. Agents without
// a profile use the `default` profile when one is given, else nothing is checked.
// Peers are matched on the address as stored: pseudonyms are prefix-preserving, so the
// owner writes pseudonymized prefixes (meerkat pseudonyms) for internal subnets.
import { z } from 'zod';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';
import type { Severity } from '../../shared/alerts/alert-record.js';
import { PrefixSet } from './address-scope.js';
import type { FlowDirection, FlowSides } from './flow-sides.js';
import { parsePortSpec, PortIndex } from './port-rules.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected HH:MM');

const profileSchema = z.object({
  allowPeers: z.array(z.string().min(1)).optional(),
  forbidPeers: z.array(z.string().min(1)).optional(),
  allowPorts: z.array(z.string().min(1)).optional(),
  forbidPorts: z.array(z.string().min(1)).optional(),
  /** activity windows; a flow starting outside all of them raises an alert */
  hours: z.array(z.object({
    days: z.array(z.enum(DAYS)).default([...DAYS]),
    from: hhmm,
    to: hhmm,
  }).strict()).optional(),
  /**
   * services a machine uses by itself at any hour, not counted as activity for `hours`
   * (default time sync and DHCP: udp/123, udp/67, udp/68)
   */
  backgroundPorts: z.array(z.string().min(1)).default(['udp/123', 'udp/67', 'udp/68']),
  /** local time of the machine = UTC + this offset (default 0) */
  utcOffsetMinutes: z.number().int().min(-14 * 60).max(14 * 60).default(0),
  /** directions the peer/port allow lists apply to (default all but transit) */
  directions: z.array(z.enum(['outbound', 'inbound', 'lateral', 'transit'])).default(['outbound', 'inbound', 'lateral']),
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
}).strict();

export const machineExceptionsConfigSchema = z.object({
  agents: z.record(z.string(), profileSchema).default({}),
  default: profileSchema.optional(),
}).strict();

export type MachineProfile = z.input<typeof profileSchema>;

class PeerMatcher {
  private readonly prefixes: PrefixSet;
  private readonly internal: boolean;
  private readonly external: boolean;

  constructor(entries: string[]) {
    this.internal = entries.includes('internal');
    this.external = entries.includes('external');
    this.prefixes = new PrefixSet(entries.filter((e) => e !== 'internal' && e !== 'external'));
  }

  matches(s: FlowSides): boolean {
    if (this.internal && s.remoteInternal) return true;
    if (this.external && !s.remoteInternal) return true;
    return this.prefixes.has(s.remoteAddr);
  }
}

interface Profile {
  allowPeers: PeerMatcher | null;
  forbidPeers: PeerMatcher | null;
  allowPorts: PortIndex<true> | null;
  forbidPorts: PortIndex<true> | null;
  /** per weekday (0 = Sunday): [fromMin, toMin) pairs in local minutes */
  hours: Array<Array<[number, number]>> | null;
  background: PortIndex<true>;
  offsetUs: number;
  directions: Set<FlowDirection>;
  severity: Severity;
}

function minutes(t: string): number {
  return Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
}

function compile(p: z.output<typeof profileSchema>): Profile {
  const ports = (list: string[] | undefined): PortIndex<true> | null => {
    if (list === undefined) return null;
    const idx = new PortIndex<true>();
    for (const s of list) idx.add(parsePortSpec(s), true);
    return idx;
  };
  let hours: Profile['hours'] = null;
  if (p.hours !== undefined) {
    hours = DAYS.map(() => []);
    for (const h of p.hours) {
      const from = minutes(h.from);
      const to = minutes(h.to);
      for (const d of h.days) {
        const day = DAYS.indexOf(d);
        if (from < to) hours[day]!.push([from, to]);
        else {
          // overnight window: the evening part today, the morning part tomorrow
          hours[day]!.push([from, 24 * 60]);
          hours[(day + 1) % 7]!.push([0, to]);
        }
      }
    }
  }
  return {
    allowPeers: p.allowPeers ? new PeerMatcher(p.allowPeers) : null,
    forbidPeers: p.forbidPeers ? new PeerMatcher(p.forbidPeers) : null,
    allowPorts: ports(p.allowPorts),
    forbidPorts: ports(p.forbidPorts),
    hours,
    background: ports(p.backgroundPorts)!,
    offsetUs: p.utcOffsetMinutes * 60_000_000,
    directions: new Set(p.directions),
    severity: p.severity,
  };
}

const DAY_US = 86_400_000_000;

/** Is packet time tsUs inside one of the profile's windows? */
export function withinHours(hours: Array<Array<[number, number]>>, tsUs: number, offsetUs: number): boolean {
  const local = tsUs + offsetUs;
  const dayIndex = Math.floor(local / DAY_US);
  const weekday = (((dayIndex + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  const minute = Math.floor((local - dayIndex * DAY_US) / 60_000_000);
  for (const [from, to] of hours[weekday]!) if (minute >= from && minute < to) return true;
  return false;
}

export class MachineExceptionsAnalyzer implements Analyzer<z.output<typeof machineExceptionsConfigSchema>> {
  name = 'machine-exceptions';
  private readonly profiles = new Map<string, Profile>();
  private fallback: Profile | null = null;

  readonly configSchema = machineExceptionsConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: z.output<typeof machineExceptionsConfigSchema>): void {
    for (const [agent, p] of Object.entries(config.agents)) this.profiles.set(agent, compile(p));
    if (config.default) this.fallback = compile(config.default);
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    if (rec.record_seq !== 0) return;
    const p = this.profiles.get(rec.agent_id) ?? this.fallback;
    if (p === null) return;
    const s = ctx.sides(rec);
    const scoped = p.directions.has(s.direction);
    if (scoped && p.forbidPeers?.matches(s)) this.alert(rec, s, p, 'peer-forbidden', `${s.remoteAddr} is a forbidden peer`, ctx);
    else if (scoped && p.allowPeers !== null && !p.allowPeers.matches(s)) this.alert(rec, s, p, 'peer-not-allowed', `${s.remoteAddr} is not an allowed peer`, ctx);
    const port = `${rec.proto}/${rec.resp_port}`;
    if (scoped && p.forbidPorts?.has(rec.ip_proto, rec.resp_port)) this.alert(rec, s, p, 'port-forbidden', `${port} is forbidden`, ctx);
    else if (scoped && p.allowPorts !== null && !p.allowPorts.has(rec.ip_proto, rec.resp_port)) this.alert(rec, s, p, 'port-not-allowed', `${port} is not an allowed port`, ctx);
    if (p.hours !== null && !withinHours(p.hours, rec.flow_start, p.offsetUs) && !p.background.has(rec.ip_proto, rec.resp_port)) {
      this.alert(rec, s, p, 'outside-hours', `activity at ${new Date((rec.flow_start + p.offsetUs) / 1000).toISOString().slice(0, 16).replace('T', ' ')} local time, outside the machine's hours`, ctx);
    }
  }

  private alert(rec: FlowRecord, s: FlowSides, p: Profile, rule: string, why: string, ctx: AnalyzerContext): void {
    ctx.emit({
      severity: p.severity,
      category: 'exception',
      rule,
      agentId: rec.agent_id,
      host: s.localAddr,
      flowUid: rec.uid,
      communityId: rec.community_id,
      peer: s.remoteAddr,
      summary: `${why}: ${s.direction} ${rec.proto} ${rec.orig_addr}:${rec.orig_port} -> ${rec.resp_addr}:${rec.resp_port}`,
      evidence: {
        rule, direction: s.direction, proto: rec.proto, orig: rec.orig_addr, origPort: rec.orig_port, resp: rec.resp_addr,
        respPort: rec.resp_port, connState: rec.conn_state, flowStartUs: rec.flow_start,
      },
      tsUs: rec.start,
    });
  }
}
