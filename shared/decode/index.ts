// Public surface of the packet decoder.
export { decodeFrame, decodePacket, decodeOuter, isLinkTypeSupported, decoderInternalErrors, type DecodeOptions } from './decode-packet.js';
export { decodeFrameFast } from './fast-lane.js';
export { DecodedPacket, L2Flag, type DecodeIssue } from './decoded-packet.js';
export { LinkType, linkTypeName, type LinkTypeNumber } from './link-types.js';
export { etherTypeTable, ipProtocolTable, linkTypeTable, udpTunnelPortTable } from './dispatch.js';
export type { LayerDecoder } from './dispatch-table.js';
