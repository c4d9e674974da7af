// Labelled scenario captures for measuring the analyzers (precision and recall per analyzer,
// alert-quality.ts): each scenario is a pcap of several internal hosts (one import, many
// hosts), ordinary traffic everywhere (browsing with DNS, NTP, push connections), the attacks
// an analyst must see, labelled with host, peer and time, and the benign look-alikes that must
// stay quiet (false-positive traps):
//   office-beacons   C2 beaconing hidden in browsing (jittered, and with missed beats);
//                    traps: NTP polls, push keep-alives, a host's hourly update check
//   scans            an outbound port scan (and the Telnet and SMB attempts inside it), a lateral
//                    SMB sweep, an inbound port scan, an SNMP sweep; traps: busy browsing, a
//                    client retrying one dead server
//   exfiltration     tens of MB uploaded in a fresh host's first hour, a long upload later;
//                    traps: a large update download, a photo upload, a video call
//   threat-intel     a listed C2 address, an inbound probe from a listed range; traps: the
//                    neighbouring range, an internal host whose pseudonym is on the list
//   sensitive-ports  Telnet (answered, and refused with RST), inbound RDP, SMB and SMTP to the
//                    internet; traps: SMB to the file server, SSH out, mail submission, a
//                    refused inbound SSH attempt
//   kiosks           three locked-down hosts under a machine-exceptions profile (HTTP(S), DNS, NTP,
//                    weekdays 07:00-19:00): SSH out from one, a connection at night from
//                    another; traps: everything the profile allows
//   benign-days      three days of four hosts with nothing malicious: office-hours browsing,
//                    NTP, updates, and a nightly cloud backup of 1.2 GB (every alert is false)
// Deterministic: the same seed gives the same bytes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exponential, lognormal, prng, ScenarioCapture } from './scenario-capture.js';

/** The analyzers a label can belong to and the alert category each emits. */
export const ANALYZER_CATEGORIES = {
  'machine-exceptions': 'exception',
  beacon: 'beacon',
  scan: 'scan',
  volume: 'volume',
  'threat-intel': 'threat-intel',
  'sensitive-ports': 'sensitive-port',
} as const;

export type LabelledAnalyzer = keyof typeof ANALYZER_CATEGORIES;

/** One thing an analyst must be told about (addresses as on the wire, before pseudonymization). */
export interface ScenarioLabel {
  analyzer: LabelledAnalyzer;
  /** alert rule, when the analyzer has several (port-scan / sweep, telnet / rdp-inbound, ...) */
  rule?: string;
  /** the internal host doing it or suffering it */
  host: string;
  /** the other side: an address, or a CIDR for a swept range */
  peer: string;
  startUs: number;
  endUs: number;
  what: string;
}

export interface Scenario {
  name: string;
  file: string;
  packets: number;
  startUs: number;
  endUs: number;
  /** internal hosts in the capture */
  hosts: string[];
  labels: ScenarioLabel[];
  /** the benign look-alikes it contains */
  traps: string[];
  /** threat-intel feed files the scenario needs (plain format) */
  feeds: Array<{ name: string; path: string }>;
  /** the machine-exceptions profile of the scenario's agent, when it has one */
  profile?: Record<string, unknown>;
}

export interface ScenarioSetOptions {
  seed?: number;
  /** days of the benign scenario (default 3) */
  benignDays?: number;
  /** the import's anonymization key: the threat-intel trap lists an internal host's pseudonym under it */
  pseudonymOf: (address: string) => string;
}

const RESOLVER = '10.20.0.53';
const FILE_SERVER = '10.20.0.10';
const NTP_SERVER = '162.159.200.1';
const MONDAY = Date.UTC(2030, 0, 7) * 1000;
const H = 3600e6;
const MIN = 60e6;

/** Public addresses for ordinary servers, none of them used by a label. */
function serverPool(rnd: () => number, n: number, avoid: ReadonlySet<string>): string[] {
  const firsts = [23, 31, 34, 35, 52, 54, 104, 142, 151, 157, 185, 199, 216];
  const out: string[] = [];
  while (out.length < n) {
    const a = `${firsts[Math.floor(rnd() * firsts.length)]}.${1 + Math.floor(rnd() * 250)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 250)}`;
    if (!avoid.has(a) && !out.includes(a)) out.push(a);
  }
  return out;
}

interface BrowseOptions {
  /** mean seconds between page visits */
  meanGapSec: number;
  /** only between these hours of the day (UTC), e.g. [8, 18] */
  hours?: [number, number];
}

/** Page visits: a DNS lookup, then one to three HTTPS connections to the site's servers. */
function browse(c: ScenarioCapture, rnd: () => number, host: string, servers: readonly string[], from: number, to: number, o: BrowseOptions): void {
  for (let t = from + exponential(rnd, o.meanGapSec * 1e6); t < to; t += exponential(rnd, o.meanGapSec * 1e6)) {
    if (o.hours !== undefined) {
      const hour = ((t / H) % 24 + 24) % 24;
      if (hour < o.hours[0] || hour >= o.hours[1]) continue;
    }
    c.udpExchange(t, host, RESOLVER, 53, 40 + Math.floor(rnd() * 20), 90 + Math.floor(rnd() * 120));
    const site = Math.floor(rnd() * servers.length);
    const conns = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < conns; k++) {
      const srv = servers[(site + k * 7) % servers.length]!;
      c.session(t + 30_000 + k * 20_000, host, srv, rnd() < 0.9 ? 443 : 80, {
        up: 400 + Math.floor(rnd() * 1200), down: lognormal(rnd, 30_000, 1.3, 600, 4_000_000), rttUs: 10_000 + rnd() * 60_000,
      });
    }
  }
}

/** NTP every 1024 s (± a second), as chrony and ntpd poll. */
function ntp(c: ScenarioCapture, rnd: () => number, host: string, from: number, to: number): void {
  for (let t = from + rnd() * 1024e6; t < to; t += 1024e6 + (rnd() - 0.5) * 2e6) c.udpExchange(t, host, NTP_SERVER, 123, 48, 48, c.port(), 15_000);
}

/** Connections to one peer every `periodSec` (± jitter), small and similar in size; `skip` drops beats. */
function beacon(c: ScenarioCapture, rnd: () => number, host: string, peer: string, port: number, from: number, to: number,
  periodSec: number, jitter: number, skip = 0): { first: number; last: number } {
  let first = -1;
  let last = from;
  for (let t = from; t < to; t += periodSec * 1e6 * (1 - jitter + 2 * jitter * rnd())) {
    if (rnd() < skip) continue;
    if (first < 0) first = t;
    last = c.session(t, host, peer, port, { up: 1800 + Math.floor(rnd() * 200), down: 900 + Math.floor(rnd() * 150), rttUs: 80_000 });
  }
  return { first, last };
}

function officeBeacons(dir: string, seed: number): Scenario {
  const rnd = prng(seed);
  const c = new ScenarioCapture(rnd);
  const start = MONDAY + 8 * H;
  const end = start + 6 * H;
  const hosts = ['10.20.1.11', '10.20.1.12', '10.20.1.13', '10.20.1.14'];
  const c2a = '185.220.101.47';
  const c2b = '45.137.21.9';
  const servers = serverPool(rnd, 300, new Set([c2a, c2b]));
  for (const h of hosts) {
    browse(c, rnd, h, servers, start, end, { meanGapSec: 35 });
    ntp(c, rnd, h, start, end);
    c.keepAlive(start + rnd() * 60e6, end, h, '17.57.146.20', 5223, 240e6);
  }
  // trap: an hourly update check (too few to be scored, and an ordinary service)
  for (let t = start + 5 * MIN; t < end; t += H) c.session(t, hosts[3]!, '13.107.4.50', 443, { up: 900, down: 4000 });
  const a = beacon(c, rnd, hosts[1]!, c2a, 443, start + 10 * MIN, end, 300, 0.15);
  const b = beacon(c, rnd, hosts[2]!, c2b, 8443, start + 2 * H, end, 60, 0.05, 0.25);
  const file = join(dir, 'office-beacons.pcap');
  const w = c.write(file);
  return {
    name: 'office-beacons', file, packets: w.packets, startUs: w.startUs, endUs: w.endUs, hosts, feeds: [],
    labels: [
      { analyzer: 'beacon', host: hosts[1]!, peer: c2a, startUs: a.first, endUs: a.last, what: 'C2 every 300 s ± 15 % for 6 h' },
      { analyzer: 'beacon', host: hosts[2]!, peer: c2b, startUs: b.first, endUs: b.last, what: 'C2 every 60 s ± 5 %, a quarter of the beats missing, 4 h' },
    ],
    traps: ['NTP every 1024 s from every host', 'push keep-alives every 4 min (one long connection each)', 'an hourly update check'],
  };
}

function scans(dir: string, seed: number): Scenario {
  const rnd = prng(seed);
  const c = new ScenarioCapture(rnd);
  const start = MONDAY + 9 * H;
  const end = start + 2 * H;
  const hosts = ['10.20.2.21', '10.20.2.22', '10.20.2.23', '10.20.2.24'];
  const target = '80.82.77.33';
  const scanner = '45.155.205.99';
  const servers = serverPool(rnd, 200, new Set([target, scanner]));
  for (const h of hosts) { browse(c, rnd, h, servers, start, end, { meanGapSec: 25 }); ntp(c, rnd, h, start, end); }
  // outbound port scan: 200 ports in ~2 minutes, closed ports refuse, a few are filtered
  const s1 = start + 20 * MIN;
  let t = s1;
  for (let p = 1; p <= 200; p++) {
    if (p % 17 === 0) c.unanswered(t, hosts[0]!, target, p); else c.refused(t, hosts[0]!, target, p, c.port(), 60_000);
    t += 400_000 + rnd() * 400_000;
  }
  const e1 = t;
  // lateral SMB sweep of a /24: 120 hosts, most absent, some refuse, a few answer the SYN
  const s2 = start + 45 * MIN;
  t = s2;
  for (let i = 1; i <= 120; i++) {
    const dst = `10.20.3.${i}`;
    const r = rnd();
    if (r < 0.6) c.unanswered(t, hosts[1]!, dst, 445);
    else if (r < 0.9) c.refused(t, hosts[1]!, dst, 445);
    else c.session(t, hosts[1]!, dst, 445, { up: 0, down: 0, rttUs: 500 });
    t += 300_000 + rnd() * 300_000;
  }
  const e2 = t;
  // inbound port scan of one host from the internet: 60 ports, two open
  const s3 = start + 70 * MIN;
  t = s3;
  for (let p = 0; p < 60; p++) {
    const port = 1000 + p * 37;
    if (p === 10 || p === 40) c.session(t, scanner, hosts[2]!, port, { up: 0, down: 0, rttUs: 400 });
    else c.refused(t, scanner, hosts[2]!, port, 50_000 + Math.floor(rnd() * 10_000), 300);
    t += 500_000 + rnd() * 500_000;
  }
  const e3 = t;
  // SNMP sweep (UDP, unanswered) of another /24 by the fourth host
  const s4 = start + 95 * MIN;
  t = s4;
  for (let i = 1; i <= 40; i++) { c.udpExchange(t, hosts[3]!, `10.20.4.${i * 5}`, 161, 45, null); t += 1_000_000 + rnd() * 1_000_000; }
  const e4 = t;
  // traps: a burst of real connections to many servers; a client retrying one dead server
  for (let i = 0; i < 80; i++) c.session(start + 30 * MIN + i * 3e6, hosts[3]!, servers[i]!, 443, { up: 700, down: 20_000 });
  for (let i = 0; i < 40; i++) c.unanswered(start + 50 * MIN + i * 5e6, hosts[0]!, '34.117.59.81', 443);
  const file = join(dir, 'scans.pcap');
  const w = c.write(file);
  return {
    name: 'scans', file, packets: w.packets, startUs: w.startUs, endUs: w.endUs, hosts, feeds: [],
    labels: [
      { analyzer: 'scan', rule: 'port-scan', host: hosts[0]!, peer: target, startUs: s1, endUs: e1, what: 'outbound port scan of 200 ports' },
      // the policy's own hits inside that scan: it tried Telnet and SMB on an internet host
      { analyzer: 'sensitive-ports', rule: 'telnet', host: hosts[0]!, peer: target, startUs: s1, endUs: e1, what: 'the port scan tries tcp/23 (refused)' },
      { analyzer: 'sensitive-ports', rule: 'smb-outbound', host: hosts[0]!, peer: target, startUs: s1, endUs: e1, what: 'the port scan tries tcp/139 (refused)' },
      { analyzer: 'scan', rule: 'sweep', host: hosts[1]!, peer: '10.20.3.0/24', startUs: s2, endUs: e2, what: 'lateral tcp/445 sweep of 120 hosts' },
      { analyzer: 'scan', rule: 'port-scan', host: hosts[2]!, peer: scanner, startUs: s3, endUs: e3, what: 'inbound port scan of 60 ports' },
      { analyzer: 'scan', rule: 'sweep', host: hosts[3]!, peer: '10.20.4.0/24', startUs: s4, endUs: e4, what: 'udp/161 sweep of 40 hosts' },
    ],
    traps: ['80 HTTPS connections in 4 minutes (all with data)', '40 unanswered retries to one server port'],
  };
}

function exfiltration(dir: string, seed: number): Scenario {
  const rnd = prng(seed);
  const c = new ScenarioCapture(rnd);
  const start = MONDAY + 8 * H;
  const end = start + 3 * H;
  const hosts = ['10.20.6.31', '10.20.6.32', '10.20.6.33'];
  const drop1 = '5.188.86.17';
  const drop2 = '91.108.56.120';
  const servers = serverPool(rnd, 200, new Set([drop1, drop2]));
  for (const h of hosts) { browse(c, rnd, h, servers, start, end, { meanGapSec: 30 }); ntp(c, rnd, h, start, end); }
  // a fresh host sends 45 MB to one peer 40 minutes into its first hour
  const s1 = start + 40 * MIN;
  const e1 = c.session(s1, hosts[0]!, drop1, 443, { up: 45_000_000, down: 2_000, bps: 400_000 });
  // later, 150 MB from another host as one 30-minute upload
  const s2 = start + 2 * H;
  const e2 = c.session(s2, hosts[1]!, drop2, 443, { up: 150_000_000, down: 3_000, bps: 85_000 });
  // traps: a 700 MB download, a 6 MB photo upload, a 40-minute video call (0.5 Mbit/s each way)
  c.session(start + 70 * MIN, hosts[2]!, '151.101.2.132', 443, { up: 2_000, down: 700_000_000, bps: 20e6 });
  c.session(start + 80 * MIN, hosts[2]!, '142.250.74.110', 443, { up: 6_000_000, down: 20_000, bps: 1e6 });
  const call = c.port();
  for (let t = start + 30 * MIN; t < start + 70 * MIN; t += 80_000) {
    // 4.8 kB every 80 ms each way (UDP segmentation offload batches the datagrams)
    c.udp(t, hosts[2]!, call, '52.114.250.10', 3478, 4800);
    c.udp(t + 9_000, '52.114.250.10', 3478, hosts[2]!, call, 4800);
  }
  const file = join(dir, 'exfiltration.pcap');
  const w = c.write(file);
  return {
    name: 'exfiltration', file, packets: w.packets, startUs: w.startUs, endUs: w.endUs, hosts, feeds: [],
    labels: [
      { analyzer: 'volume', host: hosts[0]!, peer: drop1, startUs: s1, endUs: e1, what: '45 MB to one peer in the host\'s first hour' },
      { analyzer: 'volume', host: hosts[1]!, peer: drop2, startUs: s2, endUs: e2, what: '150 MB to one peer over 30 minutes' },
    ],
    traps: ['a 700 MB update download', 'a 6 MB photo upload', 'a 40-minute video call (144 MB each way, UDP)'],
  };
}

function threatIntel(dir: string, seed: number, pseudonymOf: (a: string) => string): Scenario {
  const rnd = prng(seed);
  const c = new ScenarioCapture(rnd);
  const start = MONDAY + 10 * H;
  const end = start + 2 * H;
  const hosts = ['10.20.7.41', '10.20.7.42', '10.20.7.43'];
  const c2 = '185.100.87.202';
  const dropRange = '194.26.29.0/24';
  const prober = '194.26.29.113';
  const servers = serverPool(rnd, 200, new Set([c2]));
  for (const h of hosts) { browse(c, rnd, h, servers, start, end, { meanGapSec: 30 }); ntp(c, rnd, h, start, end); }
  const s1 = start + 25 * MIN;
  for (let k = 0; k < 3; k++) c.session(s1 + k * 7 * MIN, hosts[0]!, c2, 443, { up: 3_000, down: 40_000 });
  const s2 = start + 50 * MIN;
  c.refused(s2, prober, hosts[1]!, 22, 61_000);
  // traps: the neighbouring (unlisted) range, and the file server whose pseudonym is on the list
  c.session(start + 30 * MIN, hosts[2]!, '194.26.30.5', 443, { up: 900, down: 15_000 });
  for (let k = 0; k < 5; k++) c.session(start + (40 + k * 10) * MIN, hosts[0]!, FILE_SERVER, 445, { up: 20_000, down: 300_000, rttUs: 400 });
  const feed = join(dir, 'blocklist.txt');
  const filler = serverPool(prng(seed + 1), 500, new Set([...servers, c2])).filter((a) => !a.startsWith('194.26.'));
  const lines = ['# scenario blocklist', `${c2} ; c2`, `${dropRange} ; drop`, `${pseudonymOf(FILE_SERVER)} ; equals an internal pseudonym`, ...filler.map((a) => `${a} ; filler`)];
  writeFeed(feed, lines);
  const file = join(dir, 'threat-intel.pcap');
  const w = c.write(file);
  return {
    name: 'threat-intel', file, packets: w.packets, startUs: w.startUs, endUs: w.endUs, hosts, feeds: [{ name: 'scenario-blocklist', path: feed }],
    labels: [
      { analyzer: 'threat-intel', host: hosts[0]!, peer: c2, startUs: s1, endUs: s1 + 15 * MIN, what: 'three connections to a listed C2 address' },
      { analyzer: 'threat-intel', host: hosts[1]!, peer: prober, startUs: s2, endUs: s2 + 1e6, what: 'an inbound SSH probe from a listed range' },
    ],
    traps: ['a server in the unlisted neighbouring range', 'SMB to the file server, whose pseudonym is on the list'],
  };
}

function sensitivePorts(dir: string, seed: number): Scenario {
  const rnd = prng(seed);
  const c = new ScenarioCapture(rnd);
  const start = MONDAY + 13 * H;
  const end = start + 2 * H;
  const hosts = ['10.20.8.51', '10.20.8.52', '10.20.8.53', '10.20.8.54'];
  const telnetOut = '77.247.181.163';
  const telnetLan = '10.20.5.7';
  const rdpFrom = '89.248.165.52';
  const smbOut = '52.239.152.10';
  const smtp = '64.233.184.27';
  const servers = serverPool(rnd, 200, new Set([telnetOut, rdpFrom, smbOut, smtp]));
  for (const h of hosts) { browse(c, rnd, h, servers, start, end, { meanGapSec: 30 }); ntp(c, rnd, h, start, end); }
  const t1 = start + 15 * MIN;
  c.session(t1, hosts[0]!, telnetOut, 23, { up: 300, down: 2_000 });
  const t2 = start + 25 * MIN;
  c.refused(t2, hosts[1]!, telnetLan, 23);
  const t3 = start + 35 * MIN;
  c.session(t3, rdpFrom, hosts[2]!, 3389, { up: 40_000, down: 900_000 });
  const t4 = start + 45 * MIN;
  c.session(t4, hosts[3]!, smbOut, 445, { up: 3_000, down: 2_000 });
  const t5 = start + 55 * MIN;
  c.session(t5, hosts[0]!, smtp, 25, { up: 12_000, down: 600 });
  // traps
  for (let k = 0; k < 6; k++) c.session(start + (10 + k * 15) * MIN, hosts[1]!, FILE_SERVER, 445, { up: 5_000, down: 200_000, rttUs: 400 });
  c.session(start + 20 * MIN, hosts[2]!, '140.82.121.4', 22, { up: 40_000, down: 400_000 });
  c.session(start + 30 * MIN, hosts[3]!, '64.233.184.108', 587, { up: 30_000, down: 1_000 });
  c.refused(start + 40 * MIN, '61.177.172.13', hosts[2]!, 22, 55_000);
  const file = join(dir, 'sensitive-ports.pcap');
  const w = c.write(file);
  return {
    name: 'sensitive-ports', file, packets: w.packets, startUs: w.startUs, endUs: w.endUs, hosts, feeds: [],
    labels: [
      { analyzer: 'sensitive-ports', rule: 'telnet', host: hosts[0]!, peer: telnetOut, startUs: t1, endUs: t1 + MIN, what: 'a Telnet session to the internet' },
      { analyzer: 'sensitive-ports', rule: 'telnet', host: hosts[1]!, peer: telnetLan, startUs: t2, endUs: t2 + 1e6, what: 'a Telnet attempt refused with RST (lateral)' },
      { analyzer: 'sensitive-ports', rule: 'rdp-inbound', host: hosts[2]!, peer: rdpFrom, startUs: t3, endUs: t3 + 5 * MIN, what: 'RDP from the internet' },
      { analyzer: 'sensitive-ports', rule: 'smb-outbound', host: hosts[3]!, peer: smbOut, startUs: t4, endUs: t4 + MIN, what: 'SMB to the internet' },
      { analyzer: 'sensitive-ports', rule: 'smtp-outbound', host: hosts[0]!, peer: smtp, startUs: t5, endUs: t5 + MIN, what: 'direct SMTP to the internet' },
    ],
    traps: ['SMB to the internal file server', 'SSH out to a code host', 'mail submission on 587', 'a refused inbound SSH attempt'],
  };
}

function kiosks(dir: string, seed: number): Scenario {
  const rnd = prng(seed);
  const c = new ScenarioCapture(rnd);
  const start = MONDAY + 17 * H;
  const end = start + 7 * H;
  const hosts = ['10.20.10.71', '10.20.10.72', '10.20.10.73'];
  const sshPeer = '159.89.14.22';
  const nightPeer = '172.67.182.31';
  const servers = serverPool(rnd, 150, new Set([sshPeer, nightPeer]));
  // kiosks browse until closing time (19:00) and keep their clocks right all night
  for (const h of hosts) { browse(c, rnd, h, servers, start, end, { meanGapSec: 40, hours: [7, 19] }); ntp(c, rnd, h, start, end); }
  const t1 = start + 50 * MIN;
  c.session(t1, hosts[1]!, sshPeer, 22, { up: 30_000, down: 80_000 });
  const t2 = MONDAY + 23.5 * H;
  c.session(t2, hosts[2]!, nightPeer, 443, { up: 2_000, down: 150_000 });
  const file = join(dir, 'kiosks.pcap');
  const w = c.write(file);
  return {
    name: 'kiosks', file, packets: w.packets, startUs: w.startUs, endUs: w.endUs, hosts, feeds: [],
    profile: {
      allowPorts: ['tcp/443', 'tcp/80', 'udp/53', 'udp/123'],
      hours: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }],
    },
    labels: [
      { analyzer: 'machine-exceptions', rule: 'port-not-allowed', host: hosts[1]!, peer: sshPeer, startUs: t1, endUs: t1 + MIN, what: 'SSH out from a kiosk (port not in its profile)' },
      { analyzer: 'machine-exceptions', rule: 'outside-hours', host: hosts[2]!, peer: nightPeer, startUs: t2, endUs: t2 + MIN, what: 'a kiosk connecting at 23:30' },
    ],
    traps: ['HTTP(S) browsing and DNS in opening hours', 'NTP polls all night (time sync is not activity)'],
  };
}

function benignDays(dir: string, seed: number, days: number): Scenario {
  const rnd = prng(seed);
  const c = new ScenarioCapture(rnd);
  const start = MONDAY;
  const end = start + days * 24 * H;
  const hosts = ['10.20.9.61', '10.20.9.62', '10.20.9.63', '10.20.9.64'];
  const servers = serverPool(rnd, 400, new Set());
  for (const h of hosts) {
    browse(c, rnd, h, servers, start, end, { meanGapSec: 60, hours: [8, 18] });
    ntp(c, rnd, h, start, end);
    c.keepAlive(start + rnd() * 60e6, end, h, '17.57.146.20', 5223, 600e6);
  }
  for (let d = 0; d < days; d++) {
    const day = start + d * 24 * H;
    // a nightly backup of 1.2 GB to the same cloud provider, and a daily update check
    c.session(day + 1.5 * H + rnd() * 10 * MIN, hosts[0]!, '162.125.19.131', 443, { up: 1_200_000_000, down: 50_000, bps: 2.5e6 });
    for (const h of hosts) c.session(day + 9 * H + rnd() * H, h, '13.107.4.50', 443, { up: 900, down: 6_000 });
    // one update of 250 MB per host on the second day
    if (d === 1) for (const h of hosts) c.session(day + 12 * H + rnd() * 2 * H, h, '151.101.2.132', 443, { up: 3_000, down: 250_000_000, bps: 10e6 });
  }
  const file = join(dir, 'benign-days.pcap');
  const w = c.write(file);
  return {
    name: 'benign-days', file, packets: w.packets, startUs: w.startUs, endUs: w.endUs, hosts, feeds: [], labels: [],
    traps: [`${days} days of office-hours browsing`, 'NTP every 1024 s', 'a nightly 1.2 GB backup to one cloud peer', 'daily update checks, a 250 MB update per host'],
  };
}

function writeFeed(path: string, lines: string[]): void {
  writeFileSync(path, lines.join('\n') + '\n');
}

/** Writes every scenario's capture (and feed) into dir. */
export function makeScenarios(dir: string, o: ScenarioSetOptions): Scenario[] {
  const seed = o.seed ?? 14;
  return [
    officeBeacons(dir, seed * 100 + 1),
    scans(dir, seed * 100 + 2),
    exfiltration(dir, seed * 100 + 3),
    threatIntel(dir, seed * 100 + 4, o.pseudonymOf),
    sensitivePorts(dir, seed * 100 + 5),
    kiosks(dir, seed * 100 + 7),
    benignDays(dir, seed * 100 + 6, o.benignDays ?? 3),
  ];
}
