// Turns a flow's state into an emitted FlowRecord (allocated per record) and moves the
// flow's "reported" snapshot forward so the next record carries only new counts.
import { formatIp } from '../../shared/net/ip-address.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../shared/packet/packet-record.js';
import { communityId } from './community-id.js';
import { tcpConnState, udpConnState } from './conn-state.js';
import type { Flow } from './flow.js';
import { protoName, tunnelName, type ConnState, type FlowRecord, type RecordCause } from '../../shared/flow/flow-record.js';
import type { AppRecordBase } from '../../shared/flow/app-records.js';

function connState(flow: Flow): ConnState {
  if (flow.proto === IPPROTO_TCP && flow.tcp !== null) return tcpConnState(flow.tcp);
  if (flow.proto === IPPROTO_UDP) return udpConnState(flow.orig.pkts, flow.resp.pkts);
  return 'OTH';
}

function nullIfNegative(v: number): number | null {
  return v >= 0 ? v : null;
}

/** The flow's identity as application records carry it (their ts is set by the caller). */
export function appRecordBase(flow: Flow): AppRecordBase {
  const aIsOrig = flow.origIsA;
  return {
    ts: 0,
    uid: flow.uid,
    agent_id: flow.agentId,
    orig_addr: formatIp(flow.ipVersion, flow.addressBytes(!aIsOrig, new Uint8Array(16))),
    orig_port: aIsOrig ? flow.portA : flow.portB,
    resp_addr: formatIp(flow.ipVersion, flow.addressBytes(aIsOrig, new Uint8Array(16))),
    resp_port: aIsOrig ? flow.portB : flow.portA,
    orig_anon: aIsOrig ? flow.anonA : flow.anonB,
    resp_anon: aIsOrig ? flow.anonB : flow.anonA,
  };
}

export function buildFlowRecord(flow: Flow, cause: RecordCause): FlowRecord {
  const aIsOrig = flow.origIsA;
  const origAddr = flow.addressBytes(!aIsOrig, new Uint8Array(16));
  const respAddr = flow.addressBytes(aIsOrig, new Uint8Array(16));
  const origPort = aIsOrig ? flow.portA : flow.portB;
  const respPort = aIsOrig ? flow.portB : flow.portA;
  if (flow.communityId === '') {
    // ICMP: the originator's "port" is its message type; a two-way pair hashes the same either way
    const isIcmp = flow.proto === IPPROTO_ICMP || flow.proto === IPPROTO_ICMPV6;
    flow.communityId = communityId(flow.ipVersion, origAddr, respAddr, flow.proto, origPort,
      isIcmp ? flow.icmpCode : respPort);
  }
  const o = flow.orig;
  const r = flow.resp;
  const tcp = flow.tcp;
  const oRetx = tcp !== null ? tcp.orig.retransmits : 0;
  const rRetx = tcp !== null ? tcp.resp.retransmits : 0;
  const oZw = tcp !== null ? tcp.orig.zeroWindows : 0;
  const rZw = tcp !== null ? tcp.resp.zeroWindows : 0;
  const payTotal = o.payloadBytes + r.payloadBytes;
  const start = flow.intervalStart >= 0 ? flow.intervalStart : flow.lastTs;
  const end = flow.intervalEnd >= 0 ? flow.intervalEnd : flow.lastTs;
  const app = flow.app;

  const rec: FlowRecord = {
    uid: flow.uid,
    record_seq: flow.recordSeq,
    community_id: flow.communityId,
    agent_id: flow.agentId,
    proto: protoName(flow.proto),
    ip_proto: flow.proto,
    ip_version: flow.ipVersion,
    orig_addr: formatIp(flow.ipVersion, origAddr),
    orig_port: origPort,
    resp_addr: formatIp(flow.ipVersion, respAddr),
    resp_port: respPort,
    vlan: flow.vlan,
    flow_start: flow.flowStart,
    start,
    end,
    duration: (end - start) / 1e6,
    orig_pkts: o.pkts - o.reportedPkts,
    resp_pkts: r.pkts - r.reportedPkts,
    orig_ip_bytes: o.ipBytes - o.reportedIpBytes,
    resp_ip_bytes: r.ipBytes - r.reportedIpBytes,
    orig_payload_bytes: o.payloadBytes - o.reportedPayloadBytes,
    resp_payload_bytes: r.payloadBytes - r.reportedPayloadBytes,
    conn_state: connState(flow),
    history: flow.history.text,
    record_cause: cause,
    rtt_syn_synack_us: null,
    rtt_synack_ack_us: null,
    retransmits_orig: oRetx - o.reportedRetransmits,
    retransmits_resp: rRetx - r.reportedRetransmits,
    zero_windows_orig: oZw - o.reportedZeroWindows,
    zero_windows_resp: rZw - r.reportedZeroWindows,
    iat_mean_orig_us: null,
    iat_stddev_orig_us: null,
    iat_mean_resp_us: null,
    iat_stddev_resp_us: null,
    pcr: null,
    tunnel: tunnelName(flow.tunnel),
    orig_anon: aIsOrig ? flow.anonA : flow.anonB,
    resp_anon: aIsOrig ? flow.anonB : flow.anonA,
    app_proto: app !== null ? app.proto : '',
    server_name: app !== null ? app.serverName : null,
    server_name_anon: app !== null && app.serverNameAnon,
    alpn: app !== null ? app.alpn : '',
    ja4: app !== null ? app.ja4 : '',
    ja4s: app !== null ? app.ja4s : '',
  };
  // The nullable numbers are set here, not in the literal: a field that starts as null takes
  // any value from the first record on. Set in the literal, the first records' whole-number
  // means gave the field a small-integer type that the first fractional mean broke, throwing
  // this function's optimized code away (twice per import of the bench capture).
  if (tcp !== null) {
    rec.rtt_syn_synack_us = nullIfNegative(tcp.rttSynSynAck);
    rec.rtt_synack_ack_us = nullIfNegative(tcp.rttSynAckAck);
  }
  if (o.iatCount > 0) {
    rec.iat_mean_orig_us = o.iatMean;
    rec.iat_stddev_orig_us = o.iatStddev();
  }
  if (r.iatCount > 0) {
    rec.iat_mean_resp_us = r.iatMean;
    rec.iat_stddev_resp_us = r.iatStddev();
  }
  if (payTotal > 0) rec.pcr = (o.payloadBytes - r.payloadBytes) / payTotal;

  o.reportedPkts = o.pkts;
  o.reportedIpBytes = o.ipBytes;
  o.reportedPayloadBytes = o.payloadBytes;
  o.reportedRetransmits = oRetx;
  o.reportedZeroWindows = oZw;
  r.reportedPkts = r.pkts;
  r.reportedIpBytes = r.ipBytes;
  r.reportedPayloadBytes = r.payloadBytes;
  r.reportedRetransmits = rRetx;
  r.reportedZeroWindows = rZw;
  flow.recordSeq++;
  flow.intervalStart = -1;
  flow.intervalEnd = -1;
  return rec;
}
