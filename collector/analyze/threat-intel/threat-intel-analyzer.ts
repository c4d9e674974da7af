// Built-in analyzer "threat-intel": flows whose external endpoint is on an IP/CIDR
// blacklist; domain names on a domain list (exact or a parent listed): DNS questions and
// answer targets, TLS server names and HTTP Hosts from the agents' metadata, and DNS names of
// captured payload; TLS client / server fingerprints on a JA4 / JA4S list. Feeds are files
// in common formats (feed-formats.ts), looked up in prefix tries (cost independent of
// the list size) and reloaded on change without a restart (threat-feed.ts).
//
// Pseudonymized addresses and names are never looked up: a pseudonym is a keyed rewrite of an
// internal address (or name) and can equal a real public address that happens to be listed.
// Internal names are pseudonymized on the agent, so domain entries match clear, external names
// only (docs/privacy.md "Domain names"); a listed domain under an internal suffix never matches.
import { basename, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext, DnsNameInfo } from '../analyzer.js';
import type { HttpRecord, TlsRecord } from '../../../shared/flow/app-records.js';
import { domainHitAlert, ja4HitAlert } from './name-hits.js';
import type { Severity, SuggestedResponse } from '../../../shared/alerts/alert-record.js';
import { parseAddressWords } from '../address-words.js';
import { FEED_FORMATS } from './feed-formats.js';
import { ThreatFeed } from './threat-feed.js';

const severity = z.enum(['low', 'medium', 'high', 'critical']);
const column = z.union([z.string().min(1), z.number().int().min(1)]);

export const threatIntelConfigSchema = z.object({
  feeds: z.array(z.object({
    name: z.string().min(1).optional(),
    path: z.string().min(1),
    format: z.enum(FEED_FORMATS).default('plain'),
    column: column.optional(),
    labelColumn: column.optional(),
    delimiter: z.string().min(1).optional(),
    kind: z.enum(['auto', 'ip', 'domain', 'ja4']).default('auto'),
    severity: severity.default('high'),
    /** what to suggest on a hit (default capture-peer: keep full packets of the peer for forensics) */
    response: z.enum(['capture-peer', 'block-peer', 'none']).default('capture-peer'),
    responseDurationSec: z.number().int().positive().default(3600),
  }).strict()).default([]),
  /** fs.watch the feed folders (default true); tick checks run either way */
  watch: z.boolean().default(true),
}).strict();

export type ThreatIntelConfig = z.input<typeof threatIntelConfigSchema>;

interface FeedSlot {
  feed: ThreatFeed;
  severity: Severity;
  response: 'capture-peer' | 'block-peer' | 'none';
  durationSec: number;
}

export class ThreatIntelAnalyzer implements Analyzer<z.output<typeof threatIntelConfigSchema>> {
  name = 'threat-intel';
  private feeds: FeedSlot[] = [];
  private readonly words = new Uint32Array(4);
  /** lookups done (for the bench and tests) */
  lookups = 0;

  readonly configSchema = threatIntelConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: z.output<typeof threatIntelConfigSchema>, ctx: AnalyzerContext): void {
    for (const f of config.feeds) {
      const path = isAbsolute(f.path) ? f.path : resolve(ctx.baseDir, f.path);
      const feed = new ThreatFeed({
        name: f.name ?? basename(f.path), path, format: f.format, kind: f.kind, watch: config.watch, log: ctx.log,
        ...(f.column !== undefined ? { column: f.column } : {}),
        ...(f.labelColumn !== undefined ? { labelColumn: f.labelColumn } : {}),
        ...(f.delimiter !== undefined ? { delimiter: f.delimiter } : {}),
      });
      feed.start();
      this.feeds.push({ feed, severity: f.severity, response: f.response, durationSec: f.responseDurationSec });
    }
  }

  /** Feeds in use (tests, status). */
  get feedList(): readonly ThreatFeed[] {
    return this.feeds.map((f) => f.feed);
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    // one check per flow: its first record
    if (rec.record_seq !== 0 || this.feeds.length === 0) return;
    if (!rec.resp_anon) this.check(rec, rec.resp_addr, ctx);
    if (!rec.orig_anon) this.check(rec, rec.orig_addr, ctx);
  }

  private check(rec: FlowRecord, addr: string, ctx: AnalyzerContext): void {
    const v = parseAddressWords(addr, this.words);
    if (v === 0) return;
    for (let i = 0; i < this.feeds.length; i++) {
      const slot = this.feeds[i]!;
      this.lookups++;
      if (slot.feed.lookupWords(v, this.words) >= 0) this.hit(slot, rec, addr, ctx);
    }
  }

  private hit(slot: FeedSlot, rec: FlowRecord, addr: string, ctx: AnalyzerContext): void {
    const m = slot.feed.describeIp(addr);
    const s = ctx.sides(rec);
    const listedIsResp = addr === rec.resp_addr;
    const port = listedIsResp ? rec.resp_port : rec.orig_port;
    const label = m?.label ? ` (${m.label})` : '';
    ctx.emit({
      severity: slot.severity,
      category: 'threat-intel',
      rule: `ip:${slot.feed.name}`,
      agentId: rec.agent_id,
      flowUid: rec.uid,
      communityId: rec.community_id,
      peer: addr,
      summary: `${s.direction} ${rec.proto} ${rec.orig_addr}:${rec.orig_port} -> ${rec.resp_addr}:${rec.resp_port}: ` +
        `${addr} is on ${slot.feed.name} as ${m?.entry ?? addr}${label}`,
      evidence: {
        feed: slot.feed.name, entry: m?.entry ?? addr, label: m?.label ?? '', feedVersion: slot.feed.version,
        direction: s.direction, proto: rec.proto, orig: rec.orig_addr, origPort: rec.orig_port, resp: rec.resp_addr,
        respPort: rec.resp_port, connState: rec.conn_state, origBytes: rec.orig_ip_bytes, respBytes: rec.resp_ip_bytes,
      },
      ...this.response(slot, addr, port),
      tsUs: rec.start,
    });
  }

  private response(slot: FeedSlot, peer: string, port: number): { suggestedResponse?: SuggestedResponse } {
    if (slot.response === 'none') return {};
    const r: SuggestedResponse = { action: slot.response, peer, reason: `listed on ${slot.feed.name}` };
    if (slot.response === 'capture-peer') { r.durationSec = slot.durationSec; r.port = port; }
    return { suggestedResponse: r };
  }

  onDnsName(name: string, rec: FlowRecord | undefined, ctx: AnalyzerContext, info?: DnsNameInfo): void {
    const agentId = info?.agentId ?? rec?.agent_id;
    if (agentId === undefined) return;
    const uid = info?.uid ?? rec?.uid;
    for (const slot of this.feeds) {
      const m = slot.feed.matchDomain(name);
      if (m === null) continue;
      ctx.emit(domainHitAlert({
        feed: slot.feed.name, severity: slot.severity, entry: m.entry, label: m.label, name, agentId, tsUs: info?.tsUs ?? rec?.start ?? ctx.nowUs(),
        source: `DNS ${info?.role ?? 'name'}`, stage: 'dns', role: info?.role ?? null,
        ...(uid !== undefined ? { uid } : {}), ...(rec ? { communityId: rec.community_id } : {}),
        client: info?.client ?? null, server: info?.server ?? null, feedVersion: slot.feed.version,
      }));
    }
  }

  /** TLS server name (clear ones) on a domain list; JA4 / JA4S on a fingerprint list. */
  onTls(r: TlsRecord, ctx: AnalyzerContext): void {
    for (const slot of this.feeds) {
      if (r.server_name !== null && !r.server_name_anon) {
        const m = slot.feed.matchDomain(r.server_name);
        if (m !== null) {
          ctx.emit(domainHitAlert({
            feed: slot.feed.name, severity: slot.severity, entry: m.entry, label: m.label, name: r.server_name, agentId: r.agent_id, tsUs: r.ts,
            source: r.transport === 'quic' ? 'QUIC server name' : 'TLS server name', stage: 'tls', uid: r.uid,
            client: r.orig_addr, server: r.resp_addr, feedVersion: slot.feed.version,
          }));
        }
      }
      for (const [fp, side] of [[r.ja4, 'client'], [r.ja4s, 'server']] as const) {
        if (fp === null) continue;
        const m = slot.feed.matchJa4(fp);
        if (m === null) continue;
        ctx.emit(ja4HitAlert({
          feed: slot.feed.name, severity: slot.severity, fingerprint: fp, side, label: m.label, agentId: r.agent_id, tsUs: r.ts, uid: r.uid,
          client: r.orig_addr, server: r.resp_addr, serverName: r.server_name_anon ? null : r.server_name, feedVersion: slot.feed.version,
        }));
      }
    }
  }

  /** HTTP Host (clear ones) on a domain list. */
  onHttp(r: HttpRecord, ctx: AnalyzerContext): void {
    if (r.host === null || r.host_anon) return;
    for (const slot of this.feeds) {
      const m = slot.feed.matchDomain(r.host);
      if (m === null) continue;
      ctx.emit(domainHitAlert({
        feed: slot.feed.name, severity: slot.severity, entry: m.entry, label: m.label, name: r.host, agentId: r.agent_id, tsUs: r.ts,
        source: 'HTTP Host', stage: 'http', uid: r.uid, client: r.orig_addr, server: r.resp_addr, feedVersion: slot.feed.version,
      }));
    }
  }

  onTick(): void {
    // the fallback change check (watch events can be missed, e.g. on network file systems)
    for (const f of this.feeds) f.feed.check();
  }

  close(): void {
    for (const f of this.feeds) f.feed.close();
  }
}
