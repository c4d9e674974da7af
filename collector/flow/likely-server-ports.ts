// Ports that are probably a server's, used (as Zeek's likely_server_ports) to pick the
// originator of a flow whose first packet does not say who started it: a TCP segment
// without SYN, or a UDP datagram. The default set is the well-known ports of the
// protocols Zeek analyses out of the box; deployments can replace it.

/** TCP ports of common services. */
export const DEFAULT_TCP_SERVER_PORTS: readonly number[] = [
  21, 22, 23, 25, 53, 79, 80, 81, 88, 110, 113, 135, 139, 143, 179, 389, 443, 445, 465, 502,
  512, 513, 514, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1433, 1521,
  1883, 2049, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 5900, 6379, 6666, 6667, 6668,
  6669, 7000, 8000, 8080, 8443, 8888, 9200, 11211, 20000, 27017,
];

/** UDP ports of common services (DNS, DHCP, NTP, SNMP, tunnels, ...). */
export const DEFAULT_UDP_SERVER_PORTS: readonly number[] = [
  53, 67, 69, 88, 123, 137, 138, 161, 162, 389, 443, 500, 514, 1812, 1813, 2123, 2152, 3478,
  3544, 4500, 4789, 5060, 5072, 5353, 5355, 6081, 11211,
];

/** A set of likely server ports for one transport, as a bitmap (one lookup per new flow). */
export class ServerPortSet {
  private readonly bits = new Uint8Array(65536 / 8);

  constructor(ports: Iterable<number>) {
    for (const p of ports) {
      if (Number.isInteger(p) && p >= 0 && p <= 65535) this.bits[p >>> 3]! |= 1 << (p & 7);
    }
  }

  has(port: number): boolean {
    return (this.bits[(port >>> 3) & 0x1fff]! & (1 << (port & 7))) !== 0;
  }
}
