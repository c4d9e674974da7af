// Shared pieces of the transport tests: real packet records from a reference capture
// (via tshark), real dumps built with the project's DumpWriter, a PKI on disk, agent
// credentials, a directory-backed spool stand-in, and metric reading.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { EMPTY_BYTES, PacketRecord, Direction } from '../../shared/packet/packet-record.js';
import { parseIp } from '../../shared/net/ip-address.js';
import { DumpWriter } from '../../shared/dump/dump-writer.js';
import { referencePcapsDir } from '../../shared/util/repo-paths.js';
import { initPki, loadPki, recordIssuance, type LoadedPki } from '../../certs/pki-dir.js';
import type { CertificateAuthority } from '../../certs/certificate-authority.js';
import { loadOrgCa, recordOrgIssuance } from '../../certs/org-ca.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';
import { openCollectorState } from '../../collector/orgs/collector-state.js';
import { openCollectorDb } from '../../collector/orgs/collector-db.js';
import { OrgRegistry } from '../../collector/orgs/org-registry.js';
import { orgPaths } from '../../collector/orgs/org-paths.js';
import { signAgentCsr, type AgentCertOptions } from '../../certs/issue-certificates.js';
import { createAgentCsr, generateAgentKey } from '../../certs/agent-csr.js';
import { privateKeyPem } from '../../certs/rsa-signer.js';
import type { ShipperCredentials, ShipperSpool } from '../../agent/transport/shipper.js';
import { CollectorServer, type CollectorServerOptions } from '../../collector/server/collector-server.js';

export function tmpDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `meerkat-${prefix}-`));
}

let cachedRecords: PacketRecord[] | undefined;

/** Packet records of ndpi/netflix.pcap (1793 packets), fields extracted by tshark. */
export function referenceRecords(): PacketRecord[] {
  if (cachedRecords) return cachedRecords;
  const pcap = join(referencePcapsDir(), 'ndpi', 'netflix.pcap');
  const fields = ['frame.time_epoch', 'ip.src', 'ip.dst', 'ip.proto', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'frame.len', 'ip.ttl', 'ip.id', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.window_size_value', 'tcp.len', 'ip.len', 'udp.length'];
  const out = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=,', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  const recs: PacketRecord[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const f = line.split(',');
    const r = new PacketRecord();
    r.tsUs = Math.round(Number(f[0]) * 1e6);
    if (f[1] && f[2]) {
      r.ipVersion = 4;
      r.src.set(parseIp(f[1]).bytes);
      r.dst.set(parseIp(f[2]).bytes);
      r.direction = f[1].startsWith('192.168.') ? Direction.Out : Direction.In;
    }
    r.proto = Number(f[3] || 0);
    r.sport = Number(f[4] || f[6] || 0);
    r.dport = Number(f[5] || f[7] || 0);
    r.wireLen = Number(f[8] || 0);
    r.ttl = Number(f[9] || 0);
    r.ipId = f[10] ? parseInt(f[10], 16) : 0;
    r.tcpFlags = f[11] ? parseInt(f[11], 16) : 0;
    r.tcpSeq = Number(f[12] || 0);
    r.tcpAck = Number(f[13] || 0);
    r.tcpWindow = Number(f[14] || 0);
    r.ipLen = Number(f[16] || 0);
    r.payloadLen = r.proto === 6 ? Number(f[15] || 0) : r.proto === 17 ? Math.max(0, Number(f[17] || 8) - 8) : 0;
    recs.push(r);
  }
  cachedRecords = recs;
  return recs;
}

/**
 * A real dump of records[start, start+count) for the agent and sequence. With payloadBytes,
 * each record carries up to that many captured payload bytes (random, so incompressible:
 * for tests that need big dumps).
 */
export function makeDump(agentId: string, seq: number, start = 0, count = 200, payloadBytes = 0): Uint8Array {
  const recs = referenceRecords();
  const w = new DumpWriter({ agentId, anonKeyId: '0123456789abcdef', snapLen: payloadBytes });
  const noise = payloadBytes > 0 ? randomBytes(payloadBytes * 4) : undefined;
  for (let i = 0; i < count; i++) {
    const r = recs[(start + i) % recs.length]!;
    if (noise) {
      const n = Math.min(r.payloadLen, payloadBytes);
      const off = (i * 7919) % (noise.length - n + 1);
      r.payload = noise.subarray(off, off + n);
      w.add(r);
      r.payload = EMPTY_BYTES;
    } else {
      w.add(r);
    }
  }
  return w.finish(seq);
}

export interface TestPki {
  dir: string;
  pki: LoadedPki;
  caFingerprint: string;
  /** for a real collector (its state dir given): the default organisation, whose CA signs the agents */
  org?: { stateDir: string; id: string; ca: CertificateAuthority; registry: OrgRegistry };
}

/**
 * A PKI on disk. With `stateDir`, also the collector state a real collector (`meerkat-collector
 * run`) will find there: the default organisation with its CA, which then signs issueAgent's
 * certificates (and records the agents as enrolled into it), as enrollment would. Without, the
 * root signs them: what a CollectorServer started on its own (one organisation) accepts.
 */
export function makeTestPki(root: string, names = ['localhost'], ips = ['127.0.0.1'], o: { stateDir?: string } = {}): TestPki {
  const dir = join(root, 'pki');
  const r = initPki(dir, { serverNames: names, serverIps: ips });
  const tp: TestPki = { dir, pki: loadPki(dir), caFingerprint: r.caFingerprint };
  if (o.stateDir) {
    openCollectorState({ stateDir: o.stateDir, pkiDir: dir }).close();
    tp.org = { stateDir: o.stateDir, id: DEFAULT_ORG, ca: loadOrgCa(dir, DEFAULT_ORG), registry: new OrgRegistry(openCollectorDb(o.stateDir)) };
  }
  return tp;
}

/** The default organisation's database / dumps folder of a real collector's state dir. */
export function orgDbPath(stateDir: string, org = DEFAULT_ORG): string {
  return orgPaths(stateDir, org).db;
}
export function orgDumpDir(stateDir: string, org = DEFAULT_ORG): string {
  return orgPaths(stateDir, org).dumps;
}

export interface AgentCreds extends ShipperCredentials {
  agentId: string;
  serial: string;
}

let sharedKey: KeyObject | undefined;
/** One 2048-bit key reused for simulated agents: distinct certificates, one keygen. */
export function sharedAgentKey(): KeyObject {
  return (sharedKey ??= generateAgentKey(2048));
}

export function issueAgent(tp: TestPki, opts: AgentCertOptions & { key?: KeyObject; agentId?: string } = {}): AgentCreds {
  const key = opts.key ?? sharedAgentKey();
  const agentId = opts.agentId ?? randomUUID();
  const org = tp.org;
  const issued = signAgentCsr(org?.ca ?? tp.pki.ca, createAgentCsr(key), agentId, { ...opts, ...(org ? { org: org.id } : {}) });
  const rec = { agentId, serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), issuedAt: new Date().toISOString(), kind: 'enroll' as const };
  if (org) {
    recordOrgIssuance(tp.dir, org.id, rec);
    if (org.registry.orgOfAgent(agentId) === null) org.registry.assignAgent(agentId, org.id);
  } else {
    recordIssuance(tp.dir, rec);
  }
  // the organisation's CA after the certificate: the chain the agent sends
  return { agentId, serial: issued.serial, key: privateKeyPem(key), cert: org ? issued.certPem + org.ca.certPem : issued.certPem, ca: tp.pki.ca.certPem };
}

/**
 * Stand-in for agent/spool in these tests (the spool is not what they test): one file per
 * dump, named by sequence, written atomically.
 */
export class DirSpool implements ShipperSpool {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  put(seq: number, bytes: Uint8Array): void {
    const tmp = join(this.dir, `.${seq}.tmp`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, join(this.dir, `${seq}.dump`));
  }
  list(): number[] {
    return readdirSync(this.dir).filter((f) => f.endsWith('.dump')).map((f) => Number(f.slice(0, -5)));
  }
  read(seq: number): Uint8Array {
    return readFileSync(join(this.dir, `${seq}.dump`));
  }
  remove(seq: number): void {
    rmSync(join(this.dir, `${seq}.dump`), { force: true });
  }
}

/** Scrapes one sample from a Prometheus text page. */
export function metricFromText(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls: Record<string, string> = {};
    for (const kv of (m[3] ?? '').split(',')) {
      const eq = kv.indexOf('=');
      if (eq > 0) ls[kv.slice(0, eq)] = kv.slice(eq + 2, -1);
    }
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** In-memory spool stand-in for simulated agents (load tests). */
export class MemSpool implements ShipperSpool {
  readonly dumps = new Map<number, Uint8Array>();
  list(): number[] {
    return [...this.dumps.keys()];
  }
  read(seq: number): Uint8Array {
    const d = this.dumps.get(seq);
    if (!d) throw new Error(`no dump ${seq}`);
    return d;
  }
  remove(seq: number): void {
    this.dumps.delete(seq);
  }
}

/**
 * A collector on loopback with the test PKI (state under root/state, any free port, ops port
 * on loopback unless `ops: false`), plus whatever options a test sets.
 */
export function startTestCollector(tp: TestPki, root: string, opts: Partial<CollectorServerOptions> = {}): Promise<CollectorServer> {
  return CollectorServer.start({
    pkiDir: tp.dir,
    stateDir: join(root, 'state'),
    listen: { host: '127.0.0.1', port: 0 },
    ops: { host: '127.0.0.1', port: 0 },
    defaultMetrics: false,
    ...opts,
  });
}


/**
 * The dumps `meerkat-collector run` recorded in the default organisation's database
 * (<stateDir>/orgs/default/meerkat.db, table dumps), read-only: what the real collector stored,
 * for tests that start it as a process.
 */
export function storedDumps(stateDir: string): Array<{ agentId: string; sequence: number; packetCount: number; rawPath: string }> {
  const db = new Database(orgDbPath(stateDir), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT agent_id AS agentId, sequence, packet_count AS packetCount, raw_path AS rawPath FROM dumps ORDER BY agent_id, sequence').all() as
      Array<{ agentId: string; sequence: number; packetCount: number; rawPath: string }>;
  } finally {
    db.close();
  }
}
