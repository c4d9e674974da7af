// Local vs remote side of a flow record and its direction, as every analyzer needs it:
//   outbound  the local side (host/internal) originated towards an external address
//   inbound   an external address originated towards the local side
//   lateral   both ends internal
//   transit   both ends external (e.g. an import of someone else's capture)
// The host's own address (learned or pinned, HostAddressBook) decides which side is
// local; without it the address scope does (pseudonyms and internal prefixes are local).
// One FlowSides object is reused: read it before the next record.
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import { AddressScope } from './address-scope.js';
import { HostAddressBook, type HostAddressOptions } from './host-addresses.js';

export type FlowDirection = 'outbound' | 'inbound' | 'lateral' | 'transit';

export interface FlowSides {
  direction: FlowDirection;
  /** the originator is the local side */
  localIsOrig: boolean;
  localAddr: string;
  remoteAddr: string;
  /** the remote address is a pseudonym */
  remoteAnon: boolean;
  remoteInternal: boolean;
  origInternal: boolean;
  respInternal: boolean;
  /** the responder's port (the service), ICMP: counterpart type/code */
  servicePort: number;
  /** IP bytes the local side sent / received in this record */
  bytesOut: number;
  bytesIn: number;
}

export class FlowClassifier {
  readonly scope: AddressScope;
  readonly hosts: HostAddressBook;
  private readonly out: FlowSides = {
    direction: 'transit', localIsOrig: true, localAddr: '', remoteAddr: '', remoteAnon: false, remoteInternal: false,
    origInternal: false, respInternal: false, servicePort: 0, bytesOut: 0, bytesIn: 0,
  };
  private last: FlowRecord | null = null;

  constructor(opts: { internalPrefixes?: readonly string[]; hosts?: HostAddressOptions } = {}) {
    this.scope = new AddressScope(opts.internalPrefixes);
    this.hosts = new HostAddressBook(opts.hosts);
  }

  /** Learns host addresses from a record (the host calls this once per record before analyzers run). */
  observe(rec: FlowRecord): void {
    if (rec.record_seq === 0) this.hosts.observe(rec.agent_id, rec.orig_addr, rec.resp_addr);
    this.last = null;
  }

  /** Sides of rec (cached for the most recent record). */
  classify(rec: FlowRecord): FlowSides {
    if (rec === this.last) return this.out;
    const s = this.out;
    const oi = this.scope.isInternal(rec.orig_addr, rec.orig_anon);
    const ri = this.scope.isInternal(rec.resp_addr, rec.resp_anon);
    s.origInternal = oi;
    s.respInternal = ri;
    const hostIsOrig = this.hosts.isHost(rec.agent_id, rec.orig_addr);
    const hostIsResp = !hostIsOrig && this.hosts.isHost(rec.agent_id, rec.resp_addr);
    // the host's own address decides; else the internal originator, else (both or neither) the originator
    const localIsOrig = hostIsOrig ? true : hostIsResp ? false : (oi || !ri);
    s.localIsOrig = localIsOrig;
    const remoteInternal = localIsOrig ? ri : oi;
    const localInternal = hostIsOrig || hostIsResp || (localIsOrig ? oi : ri);
    if (remoteInternal) s.direction = 'lateral';
    else if (!localInternal) s.direction = 'transit';
    else s.direction = localIsOrig ? 'outbound' : 'inbound';
    s.localAddr = localIsOrig ? rec.orig_addr : rec.resp_addr;
    s.remoteAddr = localIsOrig ? rec.resp_addr : rec.orig_addr;
    s.remoteAnon = localIsOrig ? rec.resp_anon : rec.orig_anon;
    s.remoteInternal = remoteInternal;
    s.servicePort = rec.resp_port;
    s.bytesOut = localIsOrig ? rec.orig_ip_bytes : rec.resp_ip_bytes;
    s.bytesIn = localIsOrig ? rec.resp_ip_bytes : rec.orig_ip_bytes;
    this.last = rec;
    return s;
  }
}
