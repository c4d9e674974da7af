// Application metadata records: what the agent extracts from payload it sees (DNS, TLS
// hellos, HTTP request heads, QUIC Initials) and ships in the dump next to the packet it
// came from (docs/dump-format.md section 8). The contract between the agent's extractor,
// the dump writer/reader and the collector. Names carry their privacy mark (pseudonym:
// tokens or a pseudonym address, docs/privacy.md "Domain names"); addresses in DNS answers
// carry theirs like packet addresses (the record's SrcAnon/DstAnon).

/** A domain name as shipped: text, and whether it is a pseudonym only the owner can turn back. */
export interface MetaName {
  name: string;
  pseudonym: boolean;
}

/** An address in a DNS answer: text, and whether it is a Crypto-PAn pseudonym. */
export interface MetaAddress {
  address: string;
  pseudonym: boolean;
  /**
   * The same address as 4 or 16 bytes, when whoever made the record had them (the agent's
   * extractor): the dump writer stores these instead of parsing `address` back.
   */
  bytes?: Uint8Array;
}

export interface DnsAnswerMeta {
  /** RR type (1 A, 28 AAAA, 5 CNAME, ...) */
  type: number;
  ttl: number;
  /** A/AAAA data */
  address?: MetaAddress;
  /** CNAME/NS/PTR/MX/SRV/DNAME target */
  name?: MetaName;
}

export interface DnsMeta {
  kind: 'dns';
  /** a response (else a query) */
  response: boolean;
  /** DNS over TCP (else UDP) */
  tcp: boolean;
  id: number;
  opcode: number;
  /** header bits AA, TC, RD, RA */
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  /** 0 for queries */
  rcode: number;
  /** the first question (null: none) */
  query: MetaName | null;
  qtype: number;
  qclass: number;
  /** answer section records (at most MAX_DNS_ANSWERS) */
  answers: DnsAnswerMeta[];
  /** false when the message was cut (snap length) or damaged after the question */
  complete: boolean;
}

export interface TlsClientMeta {
  kind: 'tls-client';
  /** ClientHello over TCP, or inside a QUIC Initial */
  transport: 'tcp' | 'quic';
  /** QUIC version (0 over TCP) */
  quicVersion: number;
  /** the version JA4 reports (highest supported_versions entry, else legacy_version) */
  version: number;
  serverName: MetaName | null;
  /** offered ALPN protocols, in order (at most 8) */
  alpn: string[];
  ja4: string;
}

export interface TlsServerMeta {
  kind: 'tls-server';
  transport: 'tcp' | 'quic';
  quicVersion: number;
  /** negotiated version (supported_versions, else legacy_version) */
  version: number;
  cipher: number;
  /** ALPN selected in the ServerHello (TLS 1.2) */
  alpn: string | null;
  ja4s: string;
}

export interface HttpRequestMeta {
  kind: 'http';
  method: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 */
  minorVersion: number;
  host: MetaName | null;
  userAgent: string | null;
}

export type AppMeta = DnsMeta | TlsClientMeta | TlsServerMeta | HttpRequestMeta;

/** A metadata record as a dump holds it: the record and the index of its packet in the dump. */
export interface DumpMeta {
  packet: number;
  meta: AppMeta;
}

export const MAX_DNS_ANSWERS = 32;
export const MAX_ALPN = 8;
/** strings longer than this are cut (UTF-8 bytes) */
export const MAX_META_STRING = 1024;
