// The application records the collector builds from the agents' metadata (docs/flows.md,
// "DNS and TLS logs"): one DNS transaction (query and its answer, as Zeek's dns.log), one TLS
// handshake (client and server hello, as Zeek's ssl.log) and one HTTP request. The flow engine
// makes them, the store keeps the DNS and TLS ones, analyzers get all three (onDns, onTls,
// onHttp), `meerkat dns` / `meerkat tls` and the admin API show them. Field names are the
// snake_case JSON / column names; every name carries its pseudonym mark beside it.

/** Where a record happened: its flow and endpoints (as the flow record names them). */
export interface AppRecordBase {
  /** packet time, µs since the epoch (DNS: the query's, or the answer's when no query was seen) */
  ts: number;
  /** the flow's uid (flow records of the same connection share it) */
  uid: string;
  agent_id: string;
  orig_addr: string;
  orig_port: number;
  resp_addr: string;
  resp_port: number;
  orig_anon: boolean;
  resp_anon: boolean;
}

/** One answer record of a DNS response. */
export interface DnsAnswer {
  /** RR type name (A, AAAA, CNAME, ...; "TYPE65" for others) */
  type: string;
  /** the address or target name; '' when the agent keeps no data for the type */
  data: string;
  ttl: number;
  /** data is a pseudonym (address or name) */
  anon: boolean;
}

/** A DNS transaction: a query and its answer (either may be missing). */
export interface DnsRecord extends AppRecordBase {
  proto: 'udp' | 'tcp';
  trans_id: number;
  /** answer time - query time, µs; null without both */
  rtt_us: number | null;
  /** the question name; null when the message had none */
  query: string | null;
  query_anon: boolean;
  qclass: number;
  qclass_name: string;
  qtype: number;
  qtype_name: string;
  /** null: no answer seen */
  rcode: number | null;
  rcode_name: string | null;
  AA: boolean;
  TC: boolean;
  RD: boolean;
  RA: boolean;
  answers: DnsAnswer[];
}

/** A TLS handshake (over TCP, or the client hello of a QUIC connection). */
export interface TlsRecord extends AppRecordBase {
  transport: 'tcp' | 'quic';
  /** negotiated version (server hello), Zeek's names (TLSv12, TLSv13, ...); null without a server hello */
  version: string | null;
  /** highest version the client offered (as JA4 reads it) */
  client_version: string | null;
  /** negotiated cipher suite (IANA name, or "unknown-0x...") */
  cipher: string | null;
  server_name: string | null;
  server_name_anon: boolean;
  /** ALPN offered by the client */
  alpn: string[];
  /** ALPN the server selected (visible in TLS 1.2 server hellos only) */
  next_protocol: string | null;
  ja4: string | null;
  ja4s: string | null;
  /** QUIC version (QUIC only) */
  quic_version: number | null;
}

/** An HTTP/1.x request head. */
export interface HttpRecord extends AppRecordBase {
  method: string;
  /** "1.0" or "1.1" */
  version: string;
  host: string | null;
  host_anon: boolean;
  user_agent: string | null;
}

export type AppRecord =
  | { kind: 'dns'; record: DnsRecord }
  | { kind: 'tls'; record: TlsRecord }
  | { kind: 'http'; record: HttpRecord };
