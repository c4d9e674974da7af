// What capture commands change on a running agent - global snap length, targeted payload
// capture for one peer, packets/seconds per dump, capture and shipping stopped or running -
// and keeping those changes across restarts (<stateDir>/control/capture.json): an operator who
// stopped capture or raised the snap length must not see it silently undone by a reboot.
// Peer rules name addresses as the records carry them (pseudonyms for internal hosts), which is
// exactly what the agent's SnapPolicy matches after anonymization; nothing is de-anonymized here.
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from '../../shared/log.js';
import type { PeerCaptureRule } from '../pipeline/snap-policy.js';
import { saveJsonAtomic } from './json-state-file.js';
import type { CaptureControlState } from '../../shared/commands/agent-reports.js';

export interface CaptureTargets {
  pipeline: {
    setSnapLen(n: number): void;
    addPeerRule(rule: PeerCaptureRule): void;
    setDumpLimits(packets: number, seconds: number): void;
    /** emit the open dump now */
    flush(): void;
  };
  capture: { start(): Promise<void>; stop(): void };
  shipping: { pause(): void; resume(): void; readonly paused: boolean };
  /** what the agent started with (config) */
  defaults: { snapLen: number; packetsPerDump: number; dumpSeconds: number };
}

export interface PeerCaptureState {
  /** as records carry it */
  peer: string;
  port?: number;
  snapLen: number;
  /** ms since the epoch */
  untilMs: number;
}

interface Overrides {
  v: 1;
  snapLen?: number;
  dump?: { packets: number; seconds: number };
  captureStopped?: boolean;
  shippingPaused?: boolean;
  peerRules: PeerCaptureState[];
}

export class CaptureControl {
  private o: Overrides = { v: 1, peerRules: [] };
  private captureStopped = false;

  constructor(
    private readonly t: CaptureTargets,
    private readonly stateFile: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Re-applies persisted changes at agent start (an unreadable file is logged and ignored). */
  async restore(): Promise<CaptureControlState> {
    if (existsSync(this.stateFile)) {
      try {
        const doc = JSON.parse(readFileSync(this.stateFile, 'utf8')) as Partial<Overrides>;
        if (doc.v === 1 && Array.isArray(doc.peerRules)) this.o = { ...doc, v: 1, peerRules: doc.peerRules };
      } catch (e) {
        this.log.error({ err: (e as Error).message, file: this.stateFile }, 'capture overrides unreadable; using the configuration');
      }
    }
    try {
      if (this.o.snapLen !== undefined) this.t.pipeline.setSnapLen(this.o.snapLen);
      if (this.o.dump) this.t.pipeline.setDumpLimits(this.o.dump.packets, this.o.dump.seconds);
      const now = this.now();
      this.o.peerRules = this.o.peerRules.filter((r) => r.untilMs > now);
      for (const r of this.o.peerRules) this.t.pipeline.addPeerRule(toRule(r));
      if (this.o.shippingPaused) this.t.shipping.pause();
      if (this.o.captureStopped) this.stopCapture();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 're-applying capture overrides failed');
    }
    const s = this.state();
    if (existsSync(this.stateFile)) this.log.info({ control: s }, 'capture overrides re-applied');
    return s;
  }

  state(): CaptureControlState {
    const now = this.now();
    const d = this.t.defaults;
    return {
      snapLen: this.o.snapLen ?? d.snapLen,
      dump: this.o.dump ?? { packets: d.packetsPerDump, seconds: d.dumpSeconds },
      capture: this.captureStopped ? 'stopped' : 'running',
      shipping: this.t.shipping.paused ? 'paused' : 'running',
      peerCapture: this.o.peerRules.filter((r) => r.untilMs > now).map((r) => ({
        peer: r.peer, ...(r.port ? { port: r.port } : {}), snapLen: r.snapLen, until: new Date(r.untilMs).toISOString(),
      })),
    };
  }

  /** New global snap length; the open dump is emitted first so the next dump is all new-policy. */
  setSnapLen(n: number): CaptureControlState {
    this.t.pipeline.flush();
    this.t.pipeline.setSnapLen(n);
    this.o.snapLen = n;
    this.save();
    return this.state();
  }

  /** Full (or raised) payload for one peer until now + forMs; lapses by itself. */
  addPeerCapture(peer: string, port: number | undefined, snapLen: number, forMs: number): CaptureControlState {
    const r: PeerCaptureState = { peer, ...(port ? { port } : {}), snapLen, untilMs: this.now() + forMs };
    this.t.pipeline.flush();
    this.t.pipeline.addPeerRule(toRule(r));
    this.o.peerRules = [...this.o.peerRules.filter((x) => x.untilMs > this.now()), r];
    this.save();
    return this.state();
  }

  setDumpSize(packets: number, seconds: number | undefined): CaptureControlState {
    const s = seconds ?? this.state().dump.seconds;
    this.t.pipeline.setDumpLimits(packets, s);
    this.o.dump = { packets, seconds: s };
    this.save();
    return this.state();
  }

  async stop(component: 'capture' | 'shipping'): Promise<CaptureControlState> {
    if (component === 'capture') {
      this.stopCapture();
      this.o.captureStopped = true;
    } else {
      this.t.shipping.pause();
      this.o.shippingPaused = true;
    }
    this.save();
    return this.state();
  }

  async start(component: 'capture' | 'shipping'): Promise<CaptureControlState> {
    if (component === 'capture') {
      if (this.captureStopped) await this.t.capture.start();
      this.captureStopped = false;
      this.o.captureStopped = false;
    } else {
      this.t.shipping.resume();
      this.o.shippingPaused = false;
    }
    this.save();
    return this.state();
  }

  private stopCapture(): void {
    if (this.captureStopped) return;
    this.t.capture.stop();
    this.t.pipeline.flush(); // what was captured so far still ships
    this.captureStopped = true;
  }

  private save(): void {
    try {
      saveJsonAtomic(this.stateFile, this.o);
    } catch (e) {
      this.log.error({ err: (e as Error).message, file: this.stateFile }, 'cannot persist capture overrides (in force until restart)');
    }
  }
}

function toRule(r: PeerCaptureState): PeerCaptureRule {
  return { address: r.peer, ...(r.port ? { port: r.port } : {}), snapLen: r.snapLen, untilUs: r.untilMs * 1000 };
}
