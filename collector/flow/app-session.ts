// A flow's application state, from the agent's metadata records joined to it (the flow
// engine's addMeta): the fields its flow records carry (app protocol, server name, ALPN,
// JA4/JA4S), the DNS queries waiting for their answers, and the TLS hellos waiting for their
// partner. It turns them into application records (shared/flow/app-records.ts): a DNS
// transaction when its answer arrives (or, unanswered, when the flow ends), a TLS handshake
// when the server hello arrives (a QUIC client hello at once: its server hello is never
// read; a TCP client hello alone when the flow ends), an HTTP request at once. Pure logic,
// allocated only for flows that have metadata.
import type { AppMeta, DnsMeta, MetaName, TlsClientMeta, TlsServerMeta } from '../../shared/appmeta/meta-record.js';
import type { AppProto } from '../../shared/flow/flow-record.js';
import type { AppRecord, AppRecordBase, DnsAnswer, DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import { dnsClassName, dnsRcodeName, dnsTypeName, tlsCipherName, tlsVersionName } from '../../shared/appmeta/protocol-names.js';

/** DNS queries one flow holds waiting for answers; past this the oldest is logged unanswered. */
export const MAX_PENDING_DNS = 64;

interface PendingQuery {
  meta: DnsMeta;
  tsUs: number;
}

/** Server name precedence: the TLS server name over an HTTP Host over a DNS question. */
const enum NameRank { None = 0, Dns = 1, Http = 2, Tls = 3 }

export class AppSession {
  proto: AppProto = '';
  serverName: string | null = null;
  serverNameAnon = false;
  private nameRank: NameRank = NameRank.None;
  alpn = '';
  ja4 = '';
  ja4s = '';
  private pending: PendingQuery[] | null = null;
  private client: TlsClientMeta | null = null;
  private clientTs = 0;
  private tlsLogged = false;

  private setName(n: MetaName | null, rank: NameRank): void {
    if (n === null || rank <= this.nameRank) return;
    this.serverName = n.name;
    this.serverNameAnon = n.pseudonym;
    this.nameRank = rank;
  }

  /** Joins one metadata record of a packet at tsUs; the records it completes go to emit. */
  join(m: AppMeta, tsUs: number, base: () => AppRecordBase, emit: (r: AppRecord) => void): void {
    switch (m.kind) {
      case 'dns':
        if (this.proto === '') this.proto = 'dns';
        this.setName(m.query, NameRank.Dns);
        this.dns(m, tsUs, base, emit);
        return;
      case 'tls-client':
        if (this.proto === '' || this.proto === 'dns' || this.proto === 'http') this.proto = m.transport === 'quic' ? 'quic' : 'tls';
        this.setName(m.serverName, NameRank.Tls);
        if (this.ja4 === '') {
          this.ja4 = m.ja4;
          this.alpn = m.alpn.join(',');
        }
        if (this.client !== null) return; // a retried hello: the first one is the connection's
        this.client = m;
        this.clientTs = tsUs;
        if (m.transport === 'quic') this.logTls(null, base, emit);
        return;
      case 'tls-server':
        if (this.proto === '' || this.proto === 'dns' || this.proto === 'http') this.proto = m.transport === 'quic' ? 'quic' : 'tls';
        if (this.ja4s === '') this.ja4s = m.ja4s;
        if (this.client === null) this.clientTs = tsUs;
        this.logTls(m, base, emit);
        return;
      case 'http':
        if (this.proto === '') this.proto = 'http';
        this.setName(m.host, NameRank.Http);
        emit({
          kind: 'http',
          record: {
            ...base(), ts: tsUs, method: m.method, version: m.minorVersion === 0 ? '1.0' : '1.1',
            host: m.host?.name ?? null, host_anon: m.host?.pseudonym ?? false, user_agent: m.userAgent,
          },
        });
        return;
    }
  }

  /** The flow ended: what still waits for a partner is logged as it is. */
  end(base: () => AppRecordBase, emit: (r: AppRecord) => void): void {
    if (this.pending !== null) {
      for (const q of this.pending) emit({ kind: 'dns', record: dnsRecord(base(), q.meta, q.tsUs, null, 0) });
      this.pending = null;
    }
    if (this.client !== null && !this.tlsLogged) this.logTls(null, base, emit);
  }

  private dns(m: DnsMeta, tsUs: number, base: () => AppRecordBase, emit: (r: AppRecord) => void): void {
    const qname = m.query?.name ?? null;
    if (!m.response) {
      const p = (this.pending ??= []);
      // a retransmitted query is the same transaction
      if (p.some((q) => q.meta.id === m.id && (q.meta.query?.name ?? null) === qname && q.meta.qtype === m.qtype)) return;
      if (p.length >= MAX_PENDING_DNS) {
        const old = p.shift()!;
        emit({ kind: 'dns', record: dnsRecord(base(), old.meta, old.tsUs, null, 0) });
      }
      p.push({ meta: m, tsUs });
      return;
    }
    const p = this.pending;
    let query: PendingQuery | null = null;
    if (p !== null) {
      const i = p.findIndex((q) => q.meta.id === m.id && (qname === null || (q.meta.query?.name ?? null) === qname));
      if (i >= 0) query = p.splice(i, 1)[0]!;
    }
    emit({ kind: 'dns', record: query === null ? dnsRecord(base(), m, tsUs, m, 0) : dnsRecord(base(), query.meta, query.tsUs, m, tsUs - query.tsUs) });
  }

  private logTls(server: TlsServerMeta | null, base: () => AppRecordBase, emit: (r: AppRecord) => void): void {
    if (this.tlsLogged) return;
    this.tlsLogged = true;
    const c = this.client;
    const t = c ?? server!;
    const record: TlsRecord = {
      ...base(),
      ts: this.clientTs,
      transport: t.transport,
      version: server !== null ? tlsVersionName(server.version) : null,
      client_version: c !== null ? tlsVersionName(c.version) : null,
      cipher: server !== null ? tlsCipherName(server.cipher) : null,
      server_name: c?.serverName?.name ?? null,
      server_name_anon: c?.serverName?.pseudonym ?? false,
      alpn: c !== null ? [...c.alpn] : [],
      next_protocol: server?.alpn ?? null,
      ja4: c?.ja4 ?? null,
      ja4s: server?.ja4s ?? null,
      quic_version: t.transport === 'quic' ? t.quicVersion : null,
    };
    emit({ kind: 'tls', record });
  }
}

function answersOf(m: DnsMeta): DnsAnswer[] {
  return m.answers.map((a) => {
    const d = a.address ?? (a.name !== undefined ? { address: a.name.name, pseudonym: a.name.pseudonym } : null);
    return { type: dnsTypeName(a.type), data: d?.address ?? '', ttl: a.ttl, anon: d?.pseudonym ?? false };
  });
}

/** A DNS transaction from its query (or a lone answer) and its answer (or null). */
function dnsRecord(base: AppRecordBase, q: DnsMeta, tsUs: number, answer: DnsMeta | null, rttUs: number): DnsRecord {
  const a = answer;
  return {
    ...base,
    ts: tsUs,
    proto: q.tcp ? 'tcp' : 'udp',
    trans_id: q.id,
    rtt_us: a !== null && a !== q ? rttUs : null,
    query: q.query?.name ?? null,
    query_anon: q.query?.pseudonym ?? false,
    qclass: q.qclass,
    qclass_name: dnsClassName(q.qclass),
    qtype: q.qtype,
    qtype_name: dnsTypeName(q.qtype),
    rcode: a !== null ? a.rcode : null,
    rcode_name: a !== null ? dnsRcodeName(a.rcode) : null,
    AA: a?.authoritative ?? false,
    TC: (a ?? q).truncated,
    RD: q.recursionDesired,
    RA: a?.recursionAvailable ?? false,
    answers: a !== null ? answersOf(a) : [],
  };
}
