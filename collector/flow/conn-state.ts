// Zeek's conn_state summary, derived (at emit time, not per packet) from the TCP
// endpoint states, or from which sides spoke for UDP. Other protocols are OTH.
import type { ConnState } from '../../shared/flow/flow-record.js';
import { TcpState, type TcpConnection } from './tcp-connection.js';

/** SYN from the originator, then its RST, with no handshake/ack/fin/gap letters between. */
const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

export function tcpConnState(tcp: TcpConnection): ConnState {
  const os = tcp.orig.state;
  const rs = tcp.resp.state;
  const oInactive = os === TcpState.Inactive || os === TcpState.Partial;
  const rInactive = rs === TcpState.Inactive || rs === TcpState.Partial;

  if (rs === TcpState.Reset) {
    if (os === TcpState.SynSent || os === TcpState.SynAckSent ||
        (os === TcpState.Reset && tcp.orig.dataBytes === 0 && tcp.resp.dataBytes === 0)) return 'REJ';
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === TcpState.Reset) {
    if (rInactive) return RSTOS0_HISTORY.test(tcp.history.text) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === TcpState.Closed && os === TcpState.Closed) return 'SF';
  if (os === TcpState.Closed) return rInactive ? 'SH' : 'S2';
  if (rs === TcpState.Closed) return oInactive ? 'SHR' : 'S3';
  if (os === TcpState.SynSent && rs === TcpState.Inactive) return 'S0';
  if (os === TcpState.Established && rs === TcpState.Established) return 'S1';
  return 'OTH';
}

export function udpConnState(origPkts: number, respPkts: number): ConnState {
  if (origPkts > 0) return respPkts > 0 ? 'SF' : 'S0';
  return respPkts > 0 ? 'SHR' : 'OTH';
}
