// Interdiction commands on the agent: turns verified commands into policy changes for the
// InterdictionManager (agent/interdiction), with pseudonyms turned into real addresses first
// (peer-resolver.ts), keeps the collector connection as the management channel, re-installs
// the persisted policy at start, ends timed parts on time, and reports what is in force - with
// every address shown as the collector's data shows it (pseudonym + "*"), never the real one.
import { isIP } from 'node:net';
import type { Logger } from '../../shared/log.js';
import type { PeerRef } from '../../shared/commands/peer-ref.js';
import type { CommandKind } from '../../shared/commands/command-schema.js';
import type { ActiveRules, InterdictionReport } from '../interdiction/interdiction-manager.js';
import type { InterdictionPolicy, ManagementChannel, PolicyChange } from '../interdiction/policy.js';
import type { ExpiredPart } from '../interdiction/policy-expiry.js';
import { describePolicy } from '../interdiction/describe-policy.js';
import type { PeerResolver } from './peer-resolver.js';
import type { DisplayedInterdiction } from '../../shared/commands/agent-reports.js';

/** What this module needs of InterdictionManager. */
export interface InterdictionPort {
  apply(change: PolicyChange): Promise<InterdictionReport>;
  restore(): Promise<InterdictionReport>;
  tick(nowMs?: number): Promise<ExpiredPart[]>;
  activeRules(): Promise<ActiveRules>;
  setManagementChannels(channels: readonly ManagementChannel[]): Promise<void>;
  nextExpiry(): number | undefined;
  readonly policy: InterdictionPolicy;
}

export interface InterdictionCommandParams {
  allow?: PeerRef[];
  peer?: PeerRef;
  forMs?: number;
  rateBytesPerSec?: number;
  lossPercent?: number;
}

function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

export class InterdictionControl {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private last: DisplayedInterdiction = { backend: 'none', mode: 'none', active: [], verified: true };

  constructor(
    private readonly manager: InterdictionPort,
    private readonly resolver: PeerResolver,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * At agent start: keep the collector reachable (its configured address, resolved now, so a
   * persisted isolation can never lock the agent out of its collector), then re-install the
   * persisted policy minus what expired, and start ending timed parts on time.
   */
  async start(collector: { host: string; port: number }): Promise<DisplayedInterdiction> {
    const channels: ManagementChannel[] = [];
    try {
      // dns loaded only for a collector given by name (the usual enrolment gives an address)
      const addrs = isIP(collector.host) ? [{ address: collector.host }] : await (await import('node:dns/promises')).lookup(collector.host, { all: true });
      for (const a of addrs.slice(0, 4)) channels.push({ address: plainAddress(a.address), port: collector.port });
    } catch (e) {
      this.log.warn({ host: collector.host, err: (e as Error).message }, 'cannot resolve the collector for the management channel; keeping the persisted one');
    }
    if (channels.length > 0) await this.manager.setManagementChannels(channels);
    const report = await this.manager.restore();
    this.last = this.display(report.policy, report.backend, report.verified, report.expired);
    this.timer = setInterval(() => void this.tickIfDue(), 1000);
    this.timer.unref();
    return this.last;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The shipper connected: that exact address and port stay open whatever is cut. */
  async onConnected(remote: { address: string; port: number }): Promise<void> {
    try {
      await this.manager.setManagementChannels([{ address: plainAddress(remote.address), port: remote.port }]);
      this.last = this.display(this.manager.policy, this.last.backend, this.last.verified);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'cannot set the management channel');
    }
  }

  /** Lines for the heartbeat (what is in force, as the collector may see it). */
  summary(): DisplayedInterdiction {
    return this.last;
  }

  async execute(kind: CommandKind, p: InterdictionCommandParams): Promise<DisplayedInterdiction> {
    const change = this.toChange(kind, p);
    let report: InterdictionReport;
    try {
      report = await this.manager.apply(change);
    } catch (e) {
      // validation messages and firewall tool errors can quote the REAL addresses just resolved;
      // the message goes back to the collector, so it is shown with pseudonyms
      if (e instanceof Error) e.message = this.resolver.sanitize(e.message);
      throw e;
    }
    this.last = this.display(report.policy, report.backend, report.verified, report.expired);
    let kernelRules: string[] | undefined;
    try {
      kernelRules = (await this.manager.activeRules()).kernelRuleComments.map((c) => this.resolver.sanitize(c));
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot read the interdiction rules back');
    }
    return kernelRules ? { ...this.last, kernelRules } : this.last;
  }

  private toChange(kind: CommandKind, p: InterdictionCommandParams): PolicyChange {
    const real = (r: PeerRef, option: string): string => this.resolver.toReal(r, option);
    const forMs = p.forMs !== undefined ? { forMs: p.forMs } : {};
    switch (kind) {
      case 'interdiction.isolate': {
        const allow = (p.allow ?? []).map((a) => real(a, '--allow'));
        return { kind: 'isolate', ...(allow.length ? { allow } : {}), ...forMs };
      }
      case 'interdiction.block':
        return { kind: 'block', peer: real(p.peer!, '--peer'), ...forMs };
      case 'interdiction.unblock':
        return { kind: 'unblock', peer: real(p.peer!, '--peer') };
      case 'interdiction.degrade':
        return {
          kind: 'degrade',
          ...(p.peer ? { peer: real(p.peer, '--peer') } : {}),
          ...(p.rateBytesPerSec !== undefined ? { rateBytesPerSec: p.rateBytesPerSec } : {}),
          ...(p.lossPercent !== undefined ? { lossPercent: p.lossPercent } : {}),
          ...forMs,
        };
      case 'interdiction.release':
        return { kind: 'release' };
      default:
        throw new RangeError(`${kind} is not an interdiction command`);
    }
  }

  private async tickIfDue(): Promise<void> {
    const next = this.manager.nextExpiry();
    if (this.ticking || next === undefined || next > this.now()) return;
    this.ticking = true;
    try {
      const expired = await this.manager.tick(this.now());
      if (expired.length > 0) {
        this.last = this.display(this.manager.policy, this.last.backend, true, expired);
        this.log.info({ expired: this.last.expired, active: this.last.active }, 'timed interdiction ended');
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'ending timed interdiction failed; retrying');
    } finally {
      this.ticking = false;
    }
  }

  private display(policy: InterdictionPolicy, backend: string, verified: boolean, expired: ExpiredPart[] = []): DisplayedInterdiction {
    const d = (a: string): string => this.resolver.toDisplay(a);
    const shown: InterdictionPolicy = {
      ...policy,
      allow: policy.allow.map(d),
      blocks: policy.blocks.map((b) => ({ ...b, peer: d(b.peer) })),
      degrade: policy.degrade.map((x) => (x.peer === undefined ? { ...x } : { ...x, peer: d(x.peer) })),
      managementChannels: policy.managementChannels.map((c) => ({ ...c, address: d(c.address) })),
    };
    return {
      backend,
      mode: policy.mode,
      active: describePolicy(shown, this.now()),
      verified,
      ...(expired.length ? { expired: expired.map((e) => ({ kind: e.kind, ...(e.peer ? { peer: d(e.peer) } : {}), at: new Date(e.expiresAt).toISOString() })) } : {}),
    };
  }
}
