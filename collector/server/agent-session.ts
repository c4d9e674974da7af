// One authenticated agent connection on the collector: parses frames, queues uploads on
// the agent's own serial lane (so an agent's dumps commit one at a time and in order, and
// never two at once for the same agent even across a reconnect), applies the per-agent
// rate and in-flight limits and its organisation's quota, validates, commits durably into its
// organisation's store (IngestLane), THEN acks.
import type { WebSocket } from 'ws';
import type { Logger } from '../../shared/log.js';
import type { DumpHeader } from '../../shared/dump/dump-header.js';
import { DumpFormatError, DumpValueError } from '../../shared/dump/dump-error.js';
import {
  AGENT_WS_PATH, CloseCode, NackCode, PROTOCOL_VERSION, UPLOAD_HEADER_LEN,
  decodeUploadHeader, nackIsRetryable, parseAgentMessage,
  type AgentHealth, type CollectorMessage, type NackCodeValue, type UploadFrameHeader,
} from '../../shared/protocol/agent-protocol.js';
import type { CollectorMetrics } from './collector-metrics.js';
import type { CollectorLimits } from './collector-limits.js';
import { StorageError } from './dump-committer.js';
import type { IngestLane } from './org-lanes.js';
import type { InflightGate, Pausable } from './inflight-gate.js';
import type { RefusalLog } from './refusal-log.js';
import { TokenBucket } from './token-bucket.js';

/** Called after a dump is durably committed (and acked); the flow engine hangs here. */
export type DumpCommittedHook = (agentId: string, header: DumpHeader, bytes: Uint8Array) => void | Promise<void>;

/** What every session shares (its organisation's part is its IngestLane). */
export interface SessionDeps {
  limits: CollectorLimits;
  /** cheap header parse + checks; throws DumpFormatError */
  readHeader: (bytes: Uint8Array) => DumpHeader;
  /** full integrity check of the body; throws DumpFormatError */
  verifyBody: (bytes: Uint8Array) => void;
  gate: InflightGate;
  metrics: CollectorMetrics;
  log: Logger;
  /** nacks are logged through it: a few per agent and interval, then a summary */
  refusals: RefusalLog;
  /** signs a renewal CSR for this agent id of this organisation; throws CsrError */
  renew: (org: string, agentId: string, csrPem: string) => { cert: string; ca: string };
  /** the collector noted a storage failure (for /healthz) */
  noteStorageFailure: (e: StorageError) => void;
}

/** What the collector keeps per agent id while the process runs. */
export class AgentState {
  /** the agent's serial lane: every upload step chains here */
  tail: Promise<void> = Promise.resolve();
  readonly bucket: TokenBucket;
  /** the agent's packet budget: a dump's work (decode, flows) goes by its packets */
  readonly packetBucket: TokenBucket;
  session: AgentSession | null = null;
  lastHealth: AgentHealth | null = null;
  lastHeartbeatMs = 0;
  connectedSinceMs = 0;
  stored = 0;
  duplicates = 0;
  nacked = 0;

  constructor(readonly agentId: string, readonly org: string, limits: CollectorLimits) {
    this.bucket = new TokenBucket(limits.agentRateBytesPerSec, limits.agentBurstBytes, Date.now());
    this.packetBucket = new TokenBucket(limits.agentRatePacketsPerSec, limits.agentBurstPackets, Date.now());
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What a queued upload counts for in the in-flight gate: its bytes, but at least 16 KiB, so an
 * agent that ignores its window with tiny frames is paused after a few thousand, not millions.
 */
const MIN_GATE_COST = 16 * 1024;
function gateCost(frame: Buffer): number {
  return Math.max(frame.length, MIN_GATE_COST);
}

/** A damaged dump is `malformed`; a well-formed one with values outside their domain is `invalid-value`. */
function dumpNackCode(e: DumpFormatError): NackCodeValue {
  return e instanceof DumpValueError ? NackCode.InvalidValue : NackCode.Malformed;
}

export class AgentSession implements Pausable {
  inflight = 0;
  /** epoch of the last upload that failed with a retryable error; later frames of that epoch are dropped */
  private failedEpoch = -1;
  private lastRenewMs = 0;
  lastActivityMs = Date.now();
  private readonly hdr: UploadFrameHeader = { type: 0, version: 0, epoch: 0, sequence: 0 };
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly agentId: string,
    readonly serial: string,
    readonly remote: string,
    private readonly agent: AgentState,
    private readonly deps: SessionDeps,
    readonly lane: IngestLane,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('pong', () => { this.lastActivityMs = Date.now(); });
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  welcome(): void {
    this.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      agentId: this.agentId,
      serverTime: Date.now(),
      maxDumpBytes: this.deps.limits.maxDumpBytes,
      window: this.deps.limits.window,
      heartbeatSec: this.deps.limits.heartbeatSec,
    });
  }

  send(msg: CollectorMessage): void {
    if (!this.isOpen) return;
    this.ws.send(JSON.stringify(msg), (err) => {
      if (err) this.deps.log.debug({ agentId: this.agentId, err: err.message }, 'send failed (connection closing)');
    });
  }

  /** Marks the session gone (the ws 'close' handler calls this). */
  markClosed(): void {
    this.closed = true;
    this.deps.gate.forget(this);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.deps.gate.forget(this);
    this.ws.close(code, reason);
    // a peer that does not answer the close handshake is cut off
    const t = setTimeout(() => this.ws.terminate(), 2000);
    t.unref();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastActivityMs = Date.now();
    if (isBinary) this.enqueueUpload(data);
    else this.onControl(data.toString('utf8'));
  }

  private get org(): string {
    return this.lane.org;
  }

  private nack(seq: number, epoch: number, code: NackCodeValue, reason: string): void {
    this.agent.nacked++;
    this.deps.metrics.uploads.inc({ org: this.org, result: 'nacked' });
    this.deps.metrics.nacks.inc({ org: this.org, code });
    const retry = nackIsRetryable(code);
    // a flood of hostile uploads must not become a flood of log lines (refusal-log.ts)
    this.deps.refusals.refused(this.agentId, code, { org: this.org, agentId: this.agentId, seq, code, detail: reason },
      retry ? 'upload nacked (agent will retry)' : 'upload rejected');
    this.send({ type: 'nack', seq, epoch, code, reason, retry });
  }

  private enqueueUpload(frame: Buffer): void {
    const err = decodeUploadHeader(frame, this.hdr);
    if (err !== null) {
      this.nack(-1, 0, NackCode.Malformed, err);
      return;
    }
    const { sequence, epoch } = this.hdr;
    const dumpLen = frame.length - UPLOAD_HEADER_LEN;
    if (dumpLen > this.deps.limits.maxDumpBytes) {
      this.nack(sequence, epoch, NackCode.TooLarge, `dump of ${dumpLen} bytes exceeds the collector limit of ${this.deps.limits.maxDumpBytes}`);
      return;
    }
    const receivedAt = Date.now();
    this.deps.gate.add(this, gateCost(frame));
    this.deps.metrics.inflightBytes.set(this.deps.gate.bytes);
    this.agent.tail = this.agent.tail.then(() => this.processUpload(sequence, epoch, frame, receivedAt));
  }

  private async processUpload(seq: number, epoch: number, frame: Buffer, receivedAt: number): Promise<void> {
    const deps = this.deps;
    const lane = this.lane;
    try {
      // the agent resends whatever was not acked on its next connection
      if (!this.isOpen) return;
      if (this.failedEpoch >= 0 && epoch <= this.failedEpoch) {
        this.nack(seq, epoch, NackCode.Aborted, `an earlier upload of epoch ${this.failedEpoch} failed; resend in order with a new epoch`);
        return;
      }
      if (!(await this.waitFor(this.agent.bucket, frame.length))) return;
      const bytes = frame.subarray(UPLOAD_HEADER_LEN);
      let header: DumpHeader;
      try {
        header = deps.readHeader(bytes);
      } catch (e) {
        if (e instanceof DumpFormatError) return this.nack(seq, epoch, dumpNackCode(e), e.message);
        throw e;
      }
      if (header.agentId !== this.agentId) {
        return this.nack(seq, epoch, NackCode.AgentMismatch, `dump is from agent ${header.agentId} but the connection's certificate is agent ${this.agentId}`);
      }
      if (header.sequence !== seq) {
        return this.nack(seq, epoch, NackCode.SequenceMismatch, `frame says sequence ${seq}, dump header says ${header.sequence}`);
      }
      if (lane.committer.isDuplicate(this.agentId, seq)) return this.acked(seq, epoch, true);
      // the work of a dump goes by its packets: refuse what is too much at once, pace the rest
      if (header.packetCount > deps.limits.maxDumpPackets) {
        return this.nack(seq, epoch, NackCode.TooManyPackets, `dump declares ${header.packetCount} packets, the collector takes at most ${deps.limits.maxDumpPackets} per dump`);
      }
      // the organisation's quota, before the dump costs any work: a retryable refusal (the agent keeps it spooled)
      const over = lane.admitDump?.() ?? null;
      if (over) {
        this.failedEpoch = epoch;
        return this.nack(seq, epoch, NackCode.Busy, `quota ${over.reason}: ${over.detail}`);
      }
      if (!(await this.waitFor(this.agent.packetBucket, header.packetCount))) return;
      try {
        deps.verifyBody(bytes);
      } catch (e) {
        if (e instanceof DumpFormatError) return this.nack(seq, epoch, dumpNackCode(e), e.message);
        throw e;
      }
      let outcome: 'stored' | 'duplicate';
      try {
        outcome = await lane.committer.commit(this.agentId, header, bytes, receivedAt);
      } catch (e) {
        if (!(e instanceof StorageError)) throw e;
        this.failedEpoch = epoch;
        deps.noteStorageFailure(e);
        return this.nack(seq, epoch, NackCode.Storage, e.message);
      }
      deps.metrics.commitSeconds.observe({ org: this.org }, (Date.now() - receivedAt) / 1000);
      if (outcome === 'duplicate') return this.acked(seq, epoch, true);
      deps.metrics.bytesStored.inc({ org: this.org }, bytes.length);
      deps.metrics.packetsStored.inc({ org: this.org }, header.packetCount);
      lane.noteStored?.(bytes.length);
      this.acked(seq, epoch, false);
      if (lane.onDumpCommitted) {
        try {
          await lane.onDumpCommitted(this.agentId, header, bytes);
        } catch (e) {
          // the dump is stored; a failing consumer must not turn into a lost or repeated upload
          deps.log.error({ org: this.org, agentId: this.agentId, seq, err: e }, 'onDumpCommitted hook failed');
        }
      }
    } catch (e) {
      this.failedEpoch = epoch;
      deps.log.error({ org: this.org, agentId: this.agentId, seq, err: e }, 'unexpected error handling upload');
      this.nack(seq, epoch, NackCode.Storage, `internal error: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      deps.gate.release(this, gateCost(frame));
      deps.metrics.inflightBytes.set(deps.gate.bytes);
    }
  }

  /** Waits on the agent's lane until the bucket lets `amount` pass; false if the connection went away meanwhile. */
  private async waitFor(bucket: TokenBucket, amount: number): Promise<boolean> {
    for (;;) {
      const wait = bucket.take(amount, Date.now());
      if (wait === 0) return true;
      await sleep(Math.min(wait, 1000));
      if (!this.isOpen) return false;
    }
  }

  private acked(seq: number, epoch: number, dup: boolean): void {
    if (dup) {
      this.agent.duplicates++;
      this.deps.metrics.uploads.inc({ org: this.org, result: 'duplicate' });
    } else {
      this.agent.stored++;
      this.deps.metrics.uploads.inc({ org: this.org, result: 'stored' });
    }
    this.send({ type: 'ack', seq, epoch, dup });
  }

  private onControl(text: string): void {
    const msg = parseAgentMessage(text);
    if (typeof msg === 'string') {
      this.deps.log.warn({ org: this.org, agentId: this.agentId, reason: msg }, 'bad control message');
      this.send({ type: 'error', code: 'bad-message', reason: msg });
      return;
    }
    switch (msg.type) {
      case 'hello':
        if (msg.v !== PROTOCOL_VERSION) {
          this.send({ type: 'error', code: 'version', reason: `collector speaks protocol ${PROTOCOL_VERSION} on ${AGENT_WS_PATH}, agent sent ${msg.v}` });
          this.close(CloseCode.ProtocolError, 'unsupported protocol version');
          return;
        }
        if (msg.agentId !== this.agentId) {
          this.send({ type: 'error', code: 'identity', reason: `hello names agent ${msg.agentId}, certificate names ${this.agentId}` });
          this.close(CloseCode.ProtocolError, 'agent id differs from certificate');
        }
        return;
      case 'heartbeat':
        this.agent.lastHealth = msg.health;
        this.agent.lastHeartbeatMs = Date.now();
        this.deps.metrics.heartbeats.inc({ org: this.org });
        this.lane.onHeartbeat?.(this.agentId, msg.health);
        return;
      case 'renew':
        this.onRenew(msg.csr);
        return;
      case 'command-result':
        this.lane.onCommandResult?.(this.agentId, msg.id, msg.ok, msg.result, msg.error);
        return;
    }
  }

  private onRenew(csr: string): void {
    const now = Date.now();
    if (now - this.lastRenewMs < this.deps.limits.renewIntervalSec * 1000) {
      this.deps.metrics.renewals.inc({ org: this.org, result: 'too-soon' });
      this.send({ type: 'renew-failed', reason: `at most one renewal per ${this.deps.limits.renewIntervalSec} s` });
      return;
    }
    this.lastRenewMs = now;
    try {
      const out = this.deps.renew(this.org, this.agentId, csr);
      this.deps.metrics.renewals.inc({ org: this.org, result: 'ok' });
      this.deps.log.info({ org: this.org, agentId: this.agentId }, 'agent certificate renewed');
      this.send({ type: 'renewed', cert: out.cert, ca: out.ca });
    } catch (e) {
      this.deps.metrics.renewals.inc({ org: this.org, result: 'refused' });
      const reason = e instanceof Error ? e.message : String(e);
      this.deps.log.warn({ org: this.org, agentId: this.agentId, reason }, 'renewal refused');
      this.send({ type: 'renew-failed', reason });
    }
  }
}
