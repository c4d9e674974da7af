// The flow record: what the flow engine emits and the store keeps, one plain object
// per emitted record (field names are the snake_case JSON/column names).
//
// A long flow is reported incrementally, Argus style: every record of a flow shares
// `uid`; counters (packets, bytes, payload bytes, retransmissions, zero windows) cover
// only that record's interval [start, end]; the rest (conn_state, history, RTTs,
// inter-arrival statistics, pcr, flow_start) describe the flow from its first packet up
// to the record's end. Summing the counters of all records of a uid gives the totals.
import { IPPROTO_ICMPV6 } from '../packet/packet-record.js';
import { ipProtocolName, tunnelKindName } from '../packet/packet-names.js';

/** Why a record was emitted. */
export type RecordCause =
  /** first report of a flow that is still open (active timeout elapsed) */
  | 'start'
  /** a later interim report of a flow that is still open */
  | 'status'
  /** TCP connection closed (FIN exchange or RST), after the close delay */
  | 'close'
  /** no packet for the idle timeout (or an unanswered TCP attempt) */
  | 'timeout'
  /** the engine was flushed (end of an import, shutdown): the flow may not be over */
  | 'flush';

/** Zeek conn_state vocabulary (TCP); UDP uses S0/SF/SHR/OTH, other protocols OTH. */
export type ConnState =
  | 'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR'
  | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

export const CONN_STATES: readonly ConnState[] = [
  'S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH',
];

export const RECORD_CAUSES: readonly RecordCause[] = ['start', 'status', 'close', 'timeout', 'flush'];

export interface FlowRecord {
  /** flow identifier shared by every record of one flow (unique per engine instance and flow) */
  uid: string;
  /** 0 for the first record of the flow, then 1, 2, ... */
  record_seq: number;
  /** Community ID v1 ("1:" + base64 SHA-1), seed 0 */
  community_id: string;
  agent_id: string;
  /** tcp, udp, icmp (ICMPv4 and ICMPv6, as Zeek), sctp, gre, ... or "ip-N" */
  proto: string;
  /** IP protocol number (58 for ICMPv6) */
  ip_proto: number;
  ip_version: number;
  orig_addr: string;
  /** TCP/UDP/SCTP port; ICMP: message type of the originator's first packet */
  orig_port: number;
  resp_addr: string;
  /** TCP/UDP/SCTP port; ICMP: counterpart type (echo 8 <-> 0 ...) or the code for one-way types */
  resp_port: number;
  vlan: number;
  /** first packet of the whole flow, microseconds since the epoch */
  flow_start: number;
  /** first packet covered by this record (µs) */
  start: number;
  /** last packet covered by this record (µs) */
  end: number;
  /** (end - start) in seconds */
  duration: number;
  orig_pkts: number;
  resp_pkts: number;
  /** sum of the IP total length of the packets (as Zeek's orig_ip_bytes) */
  orig_ip_bytes: number;
  resp_ip_bytes: number;
  /** sum of transport payload lengths as the headers declare them */
  orig_payload_bytes: number;
  resp_payload_bytes: number;
  conn_state: ConnState;
  /** Zeek history letters (upper case: originator, lower case: responder) */
  history: string;
  record_cause: RecordCause;
  /** SYN -> SYN/ACK time, null when the handshake was not seen */
  rtt_syn_synack_us: number | null;
  /** SYN/ACK -> first ACK of it, null when not seen */
  rtt_synack_ack_us: number | null;
  retransmits_orig: number;
  retransmits_resp: number;
  zero_windows_orig: number;
  zero_windows_resp: number;
  /** mean/stddev of packet inter-arrival times per direction, µs; null with fewer than 2 packets */
  iat_mean_orig_us: number | null;
  iat_stddev_orig_us: number | null;
  iat_mean_resp_us: number | null;
  iat_stddev_resp_us: number | null;
  /** producer/consumer ratio (orig - resp) / (orig + resp) over payload bytes; null without payload */
  pcr: number | null;
  /** tunnel the packets were inside ('' for the tunnel connection itself and untunnelled traffic): gre, vxlan, vxlan-gpe, geneve, 6in4, teredo, gtp, ipip, ayiya, mpls, etherip */
  tunnel: string;
  /** the originator / responder address is a pseudonym */
  orig_anon: boolean;
  resp_anon: boolean;
  // Application fields, joined from the agent's metadata records (docs/flows.md "Application
  // fields"); a record carries what the flow showed up to its end, so later records of a uid repeat them.
  /** 'tls', 'quic', 'http', 'dns' ('' when no metadata record belonged to the flow) */
  app_proto: AppProto;
  /** TLS server name (SNI, TCP or QUIC), else HTTP Host, else the first DNS question; null when none */
  server_name: string | null;
  /** server_name is a pseudonym (docs/privacy.md "Domain names"): keep the pair together */
  server_name_anon: boolean;
  /** ALPN protocols the client offered, comma-separated ('' none) */
  alpn: string;
  /** JA4 of the client hello, JA4S of the server hello ('' when not seen) */
  ja4: string;
  ja4s: string;
}

export type AppProto = '' | 'dns' | 'tls' | 'quic' | 'http';

export const APP_PROTOS: readonly AppProto[] = ['', 'dns', 'tls', 'quic', 'http'];

/** The application fields of a flow without metadata. */
export const NO_APP_FIELDS: Readonly<Pick<FlowRecord, 'app_proto' | 'server_name' | 'server_name_anon' | 'alpn' | 'ja4' | 'ja4s'>> = Object.freeze({
  app_proto: '', server_name: null, server_name_anon: false, alpn: '', ja4: '', ja4s: '',
});

/** Name of an IP protocol as flow records carry it: Zeek's, where ICMPv6 is "icmp" too. */
export function protoName(ipProto: number): string {
  if (ipProto === IPPROTO_ICMPV6) return 'icmp';
  return ipProtocolName(ipProto) ?? `ip-${ipProto}`;
}

/** Name of a TunnelKind value ('' for none or unknown). */
export function tunnelName(kind: number): string {
  return tunnelKindName(kind) ?? '';
}
