// Flow records (and the events between them) in batches for the analyzer workers. Structured
// cloning of record objects costs more than the analyzers themselves; this costs a fraction:
//   - numbers: one Float64Array of numeric columns (in a SharedArrayBuffer, so every worker
//     reads the same memory);
//   - strings that repeat (agents, protocols, states, histories, addresses) go into a string
//     TABLE that lives across batches: each batch carries only the strings new to it, and
//     records carry table indexes. Every worker gets every batch's new strings in order (even
//     when its records are dropped: stringsOnly), so all tables agree; the table starts over
//     (a new epoch) when it grows past TABLE_LIMIT or a worker was started afresh;
//   - uids and community ids, unique per record, travel as a plain list.
// DNS payloads, application records (DNS transactions, TLS handshakes, HTTP requests: few
// next to flows, cloned as objects) and packet-time watermarks travel beside the records with
// the index of the record they came before, so the worker replays the stream in its original
// order. Pure.
import type { AppProto, ConnState, FlowRecord, RecordCause } from '../../shared/flow/flow-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';
import { MeerkatError } from '../../shared/errors.js';

/** Numbers per record: 27 numeric fields, a flag word (pseudonym flags) and 13 table indexes (-1: null). */
const WIDTH = 41;
const NULL = NaN;
/** strings held in the table before it starts over */
const TABLE_LIMIT = 200_000;

/** A DNS payload seen in a packet record before the flow record at index `at` (see dns-tap.ts). */
export interface DnsPayloadEvent {
  kind: 'dns';
  at: number;
  payload: Uint8Array;
  agentId: string;
  tsUs: number;
  client: string;
  server: string;
  clientAnon: boolean;
  tcp: boolean;
}

/** An agent's packet time moved to tUs without records (heartbeat watermark). */
export interface AdvanceEvent {
  kind: 'advance';
  at: number;
  agentId: string;
  tUs: number;
}

/** A DNS transaction, TLS handshake or HTTP request the flow engine made (shared/flow/app-records.ts). */
export interface AppRecordEvent {
  kind: 'app';
  at: number;
  app: AppRecord;
}

export type StreamEvent = DnsPayloadEvent | AdvanceEvent | AppRecordEvent;

/** One batch as posted to a worker. */
export interface FlowBatch {
  count: number;
  numbers: Float64Array;
  /** the string table's epoch and its size before this batch */
  epoch: number;
  tableBase: number;
  /** strings added to the table by this batch */
  newStrings: string[];
  /** uid and community id of each record */
  uniques: string[];
  events: StreamEvent[];
}

export class FlowBatchEncoder {
  private numbers: Float64Array;
  private count = 0;
  private readonly table = new Map<string, number>();
  private epoch = 0;
  private tableBase = 0;
  private newStrings: string[] = [];
  private uniques: string[] = [];
  private events: StreamEvent[] = [];
  private resetPending = false;
  // per table field (agent, protocol, state, history, cause, tunnel, addresses, app fields): the last value
  // and its index; consecutive records mostly repeat it (a compare instead of a map lookup)
  private readonly lastValue: string[] = new Array<string>(13).fill('');
  private readonly lastIndex: number[] = new Array<number>(13).fill(-1);

  constructor(readonly capacity: number) {
    this.numbers = FlowBatchEncoder.allocate(capacity);
  }

  private static allocate(capacity: number): Float64Array {
    return new Float64Array(new SharedArrayBuffer(capacity * WIDTH * 8));
  }

  /** Records and events held. */
  get size(): number {
    return this.count + this.events.length;
  }

  get records(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /**
   * A worker started afresh and knows no strings: the table starts over with the next batch
   * (after the one being filled, if any). Returns the epoch of the first batch it can decode.
   */
  resetTable(): number {
    if (this.count === 0 && this.events.length === 0 && this.newStrings.length === 0) {
      this.startEpoch();
      return this.epoch;
    }
    this.resetPending = true;
    return this.epoch + 1;
  }

  private startEpoch(): void {
    this.epoch++;
    this.table.clear();
    this.tableBase = 0;
    this.newStrings = [];
    this.lastIndex.fill(-1);
    this.resetPending = false;
  }

  private str(s: string): number {
    let i = this.table.get(s);
    if (i === undefined) {
      i = this.table.size;
      this.table.set(s, i);
      this.newStrings.push(s);
    }
    return i;
  }

  private repeated(field: number, s: string): number {
    if (this.lastIndex[field]! >= 0 && this.lastValue[field] === s) return this.lastIndex[field]!;
    const i = this.str(s);
    this.lastValue[field] = s;
    this.lastIndex[field] = i;
    return i;
  }

  add(r: FlowRecord): void {
    const n = this.numbers;
    let o = this.count * WIDTH;
    this.count++;
    n[o++] = r.record_seq;
    n[o++] = r.ip_proto;
    n[o++] = r.ip_version;
    n[o++] = r.orig_port;
    n[o++] = r.resp_port;
    n[o++] = r.vlan;
    n[o++] = r.flow_start;
    n[o++] = r.start;
    n[o++] = r.end;
    n[o++] = r.duration;
    n[o++] = r.orig_pkts;
    n[o++] = r.resp_pkts;
    n[o++] = r.orig_ip_bytes;
    n[o++] = r.resp_ip_bytes;
    n[o++] = r.orig_payload_bytes;
    n[o++] = r.resp_payload_bytes;
    n[o++] = r.rtt_syn_synack_us ?? NULL;
    n[o++] = r.rtt_synack_ack_us ?? NULL;
    n[o++] = r.retransmits_orig;
    n[o++] = r.retransmits_resp;
    n[o++] = r.zero_windows_orig;
    n[o++] = r.zero_windows_resp;
    n[o++] = r.iat_mean_orig_us ?? NULL;
    n[o++] = r.iat_stddev_orig_us ?? NULL;
    n[o++] = r.iat_mean_resp_us ?? NULL;
    n[o++] = r.iat_stddev_resp_us ?? NULL;
    n[o++] = r.pcr ?? NULL;
    n[o++] = (r.orig_anon ? 1 : 0) | (r.resp_anon ? 2 : 0) | (r.server_name_anon ? 4 : 0);
    n[o++] = this.repeated(0, r.agent_id);
    n[o++] = this.repeated(1, r.proto);
    n[o++] = this.repeated(6, r.orig_addr);
    n[o++] = this.repeated(7, r.resp_addr);
    n[o++] = this.repeated(2, r.conn_state);
    n[o++] = this.repeated(3, r.history);
    n[o++] = this.repeated(4, r.record_cause);
    n[o++] = this.repeated(5, r.tunnel);
    n[o++] = this.repeated(8, r.app_proto);
    n[o++] = r.server_name === null ? -1 : this.repeated(9, r.server_name);
    n[o++] = this.repeated(10, r.alpn);
    n[o++] = this.repeated(11, r.ja4);
    n[o] = this.repeated(12, r.ja4s);
    this.uniques.push(r.uid, r.community_id);
  }

  /** An event that comes after the records added so far. The payload is copied (the caller's buffer is reused). */
  addDns(e: Omit<DnsPayloadEvent, 'kind' | 'at'>): void {
    this.events.push({ kind: 'dns', at: this.count, ...e, payload: e.payload.slice() });
  }

  /** An application record after the flow records added so far. */
  addApp(app: AppRecord): void {
    this.events.push({ kind: 'app', at: this.count, app });
  }

  addAdvance(agentId: string, tUs: number): void {
    this.events.push({ kind: 'advance', at: this.count, agentId, tUs });
  }

  /** The batch so far (the encoder starts a new one). */
  take(): FlowBatch {
    let numbers: Float64Array;
    if (this.count * 4 < this.capacity) {
      // a small batch (sent for latency): copy it out and keep the buffer
      numbers = FlowBatchEncoder.allocate(this.count);
      numbers.set(this.numbers.subarray(0, this.count * WIDTH));
    } else {
      numbers = this.numbers;
      this.numbers = FlowBatchEncoder.allocate(this.capacity);
    }
    const b: FlowBatch = {
      count: this.count, numbers, epoch: this.epoch, tableBase: this.tableBase,
      newStrings: this.newStrings, uniques: this.uniques, events: this.events,
    };
    this.count = 0;
    this.tableBase = this.table.size;
    this.newStrings = [];
    this.uniques = [];
    this.events = [];
    if (this.resetPending || this.table.size > TABLE_LIMIT) this.startEpoch();
    return b;
  }
}

/** What a worker whose records of a batch are dropped still needs of it: its new strings. */
export function stringsOnly(b: FlowBatch): FlowBatch {
  return { count: 0, numbers: new Float64Array(0), epoch: b.epoch, tableBase: b.tableBase, newStrings: b.newStrings, uniques: [], events: [] };
}

export class TableMismatchError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_FLOW_BATCH_TABLE';
  constructor(expected: string, got: string) {
    super(`flow batch string table out of step: expected ${expected}, got ${got}`);
    this.name = 'TableMismatchError';
  }
}

/** The worker's side: the string table, and the records of each batch decoded against it. */
export class FlowBatchDecoder {
  private table: string[] = [];
  private epoch = -1;

  /** Adds a batch's new strings to the table (a new epoch starts it over). @throws TableMismatchError */
  accept(b: FlowBatch): void {
    if (b.epoch !== this.epoch) {
      if (b.tableBase !== 0) throw new TableMismatchError(`a new table (epoch ${b.epoch}) to start at 0`, `base ${b.tableBase}`);
      this.epoch = b.epoch;
      this.table = [];
    }
    if (b.tableBase !== this.table.length) throw new TableMismatchError(`base ${this.table.length}`, `base ${b.tableBase}`);
    for (const s of b.newStrings) this.table.push(s);
  }

  /**
   * Record i of an accepted batch, as the flow engine made it (same fields, same order). Fields
   * bounded by their nature (protocol, version, ports, VLAN, record number) are made small
   * integers again, so they are stored unboxed as the engine's own are.
   */
  record(b: FlowBatch, i: number): FlowRecord {
    const n = b.numbers;
    const t = this.table;
    const o = i * WIDTH;
    const anon = n[o + 27]!;
    return {
      uid: b.uniques[2 * i]!,
      record_seq: n[o]! | 0,
      community_id: b.uniques[2 * i + 1]!,
      agent_id: t[n[o + 28]!]!,
      proto: t[n[o + 29]!]!,
      ip_proto: n[o + 1]! | 0,
      ip_version: n[o + 2]! | 0,
      orig_addr: t[n[o + 30]!]!,
      orig_port: n[o + 3]! | 0,
      resp_addr: t[n[o + 31]!]!,
      resp_port: n[o + 4]! | 0,
      vlan: n[o + 5]! | 0,
      flow_start: n[o + 6]!,
      start: n[o + 7]!,
      end: n[o + 8]!,
      duration: n[o + 9]!,
      orig_pkts: n[o + 10]!,
      resp_pkts: n[o + 11]!,
      orig_ip_bytes: n[o + 12]!,
      resp_ip_bytes: n[o + 13]!,
      orig_payload_bytes: n[o + 14]!,
      resp_payload_bytes: n[o + 15]!,
      conn_state: t[n[o + 32]!]! as ConnState,
      history: t[n[o + 33]!]!,
      record_cause: t[n[o + 34]!]! as RecordCause,
      rtt_syn_synack_us: nullable(n[o + 16]!),
      rtt_synack_ack_us: nullable(n[o + 17]!),
      retransmits_orig: n[o + 18]!,
      retransmits_resp: n[o + 19]!,
      zero_windows_orig: n[o + 20]!,
      zero_windows_resp: n[o + 21]!,
      iat_mean_orig_us: nullable(n[o + 22]!),
      iat_stddev_orig_us: nullable(n[o + 23]!),
      iat_mean_resp_us: nullable(n[o + 24]!),
      iat_stddev_resp_us: nullable(n[o + 25]!),
      pcr: nullable(n[o + 26]!),
      tunnel: t[n[o + 35]!]!,
      orig_anon: (anon & 1) !== 0,
      resp_anon: (anon & 2) !== 0,
      app_proto: t[n[o + 36]!]! as AppProto,
      server_name: n[o + 37]! < 0 ? null : t[n[o + 37]!]!,
      server_name_anon: (anon & 4) !== 0,
      alpn: t[n[o + 38]!]!,
      ja4: t[n[o + 39]!]!,
      ja4s: t[n[o + 40]!]!,
    };
  }

  /** Accepts a batch and replays it in stream order: events before the record they came before, then the rest. */
  replay(b: FlowBatch, onRecord: (r: FlowRecord) => void, onEvent: (e: StreamEvent) => void): void {
    this.accept(b);
    let e = 0;
    const events = b.events;
    for (let i = 0; i < b.count; i++) {
      while (e < events.length && events[e]!.at <= i) onEvent(events[e++]!);
      onRecord(this.record(b, i));
    }
    while (e < events.length) onEvent(events[e++]!);
  }
}

function nullable(x: number): number | null {
  return x !== x ? null : x;
}
