// Applies interdiction policy changes to the host firewall and keeps them: every change is
// installed in the kernel first (one transaction), then persisted, so restore() at agent start
// (after a restart or reboot) re-installs what was active, minus what expired meanwhile.
// tick() ends timed parts; activeRules() reports what the kernel really holds. Calls are
// serialized: a command arriving during a tick waits for it.
import type { Logger } from '../../shared/log.js';
import { IptablesBackend } from './iptables-backend.js';
import { NftBackend } from './nft-backend.js';
import { emptyPolicy, hasInterdiction, type InterdictionPolicy, type ManagementChannel, type PolicyChange } from './policy.js';
import { applyPolicyChange, withManagementChannels } from './policy-changes.js';
import { expirePolicy, nextExpiry, type ExpiredPart } from './policy-expiry.js';
import { describePolicy } from './describe-policy.js';
import { NoFirewallBackendError, type BackendName, type BackendPreference, type FirewallBackend } from './firewall-backend.js';
import { readStateFile, writeStateFile, STATE_VERSION } from './state-file.js';
import { WindowsFirewallBackend } from './windows-backend.js';

export interface InterdictionManagerOptions {
  /** where the policy is persisted (created 0600; its folder 0700 when created) */
  stateFile: string;
  backend?: BackendPreference;
  log: Logger;
  /** clock, ms since the epoch (tests) */
  now?: () => number;
}

export interface InterdictionReport {
  backend: BackendName;
  policy: InterdictionPolicy;
  /** one line per active part */
  description: string[];
  /** parts dropped because their time was up */
  expired: ExpiredPart[];
  /** whether the kernel's rules matched the policy when read back after the change */
  verified: boolean;
}

export interface ActiveRules {
  backend: BackendName;
  policy: InterdictionPolicy;
  /** our rules as the kernel lists them (`nft list table inet meerkat_interdiction`, ...) */
  kernelRuleset: string;
  kernelRuleComments: string[];
  expectedRuleComments: string[];
  /** the kernel holds exactly the rules of `policy` */
  inSync: boolean;
  description: string[];
}

/** Picks the firewall tool: Windows Firewall on Windows; nft, else iptables, on Linux. */
async function selectBackend(preference: BackendPreference = 'auto'): Promise<FirewallBackend> {
  if (preference === 'windows' || (preference === 'auto' && process.platform === 'win32')) {
    const w = WindowsFirewallBackend.detect();
    if (!w) throw new NoFirewallBackendError(preference, 'Windows Firewall is only available on Windows');
    return w;
  }
  if (preference === 'nft' || preference === 'auto') {
    const nft = await NftBackend.detect();
    if (nft) return nft;
    if (preference === 'nft') throw new NoFirewallBackendError(preference, 'nft is missing or cannot list tables (no nf_tables support?)');
  }
  const ipt = IptablesBackend.detect();
  if (ipt) return ipt;
  throw new NoFirewallBackendError(preference, preference === 'auto' ? 'neither nft nor iptables-save/iptables-restore found' : 'iptables-save/iptables-restore not found');
}

function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}

export class InterdictionManager {
  private readonly stateFile: string;
  private readonly preference: BackendPreference;
  private readonly log: Logger;
  private readonly now: () => number;
  private backend: FirewallBackend | undefined;
  private current: InterdictionPolicy = emptyPolicy();
  private loaded = false;
  private channelsSet = false;
  /** the kernel holds what this object installed (after restore() or a change) */
  private synced = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: InterdictionManagerOptions) {
    this.stateFile = opts.stateFile;
    this.preference = opts.backend ?? 'auto';
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
  }

  /** The policy in force (a copy). */
  get policy(): InterdictionPolicy {
    return structuredClone(this.current);
  }

  /** When the next timed part ends (ms since the epoch), so the agent can schedule tick(). */
  nextExpiry(): number | undefined {
    return nextExpiry(this.current);
  }

  /** Applies one change (isolate, block, degrade, release, ...). @throws InterdictionInputError, FirewallCommandError */
  apply(change: PolicyChange): Promise<InterdictionReport> {
    return this.serialize(async () => {
      await this.load();
      const now = this.now();
      const { policy: live, expired } = expirePolicy(this.current, now);
      const next = applyPolicyChange(live, change, now);
      const report = await this.commit(next, expired);
      this.log.info({ change, active: report.description, verified: report.verified }, 'interdiction changed');
      return report;
    });
  }

  /** Removes every interdiction (the management channels stay known). */
  release(): Promise<InterdictionReport> {
    return this.apply({ kind: 'release' });
  }

  /**
   * At agent start: re-installs the persisted policy minus expired parts (also after the kernel
   * lost it in a reboot or a ruleset flush), and removes rules a different backend left behind.
   * A missing state file means nothing is active. @throws InterdictionStateError when the file is corrupt
   * (the kernel is left as it is: better interdicted than silently released)
   */
  restore(): Promise<InterdictionReport> {
    return this.serialize(async () => {
      const state = await readStateFile(this.stateFile);
      const backend = await this.getBackend();
      const base = this.withOwnChannels(state?.policy ?? emptyPolicy());
      this.loaded = true;
      if (state && state.backend !== backend.name) await this.cleanUpOtherBackend(state.backend);
      if (!state) {
        const found = await backend.readBack();
        // the state file is the source of truth; say so loudly when that lifts live rules
        if (found.ruleComments.length > 0) this.log.warn({ stateFile: this.stateFile, rules: found.ruleComments.length }, 'interdiction rules found but no state file: removing them');
      }
      const { policy, expired } = expirePolicy(base, this.now());
      const report = await this.commit(policy, expired);
      this.log.info({ active: report.description, expired, verified: report.verified }, 'interdiction restored');
      return report;
    });
  }

  /** Ends timed parts whose time is up; returns what ended (nothing to do: no firewall call). */
  tick(nowMs: number = this.now()): Promise<ExpiredPart[]> {
    return this.serialize(async () => {
      await this.load();
      const { policy, expired } = expirePolicy(this.current, nowMs);
      if (expired.length === 0) return [];
      const report = await this.commit(policy, expired);
      this.log.info({ expired, active: report.description }, 'interdiction expired');
      return expired;
    });
  }

  /** Reads the kernel back and re-installs the policy if it drifted (someone flushed our rules). */
  reconcile(): Promise<boolean> {
    return this.serialize(async () => {
      await this.load();
      const rules = await this.readActive();
      if (rules.inSync) return false;
      this.log.warn({ expected: rules.expectedRuleComments, found: rules.kernelRuleComments }, 'interdiction rules drifted; re-applying');
      await this.commit(this.current, []);
      return true;
    });
  }

  /** What is in force, read back from the kernel. */
  activeRules(): Promise<ActiveRules> {
    return this.serialize(async () => {
      await this.load();
      return this.readActive();
    });
  }

  /**
   * The collector connection to keep open (remote address and TCP port). Re-applies at once if
   * interdicting; called before restore() it only takes effect with restore()/apply().
   */
  setManagementChannel(address: string, port: number): Promise<void> {
    return this.setManagementChannels([{ address, port }]);
  }

  setManagementChannels(channels: readonly ManagementChannel[]): Promise<void> {
    return this.serialize(async () => {
      await this.load();
      const next = withManagementChannels(this.current, channels);
      this.channelsSet = true;
      if (JSON.stringify(next.managementChannels) === JSON.stringify(this.current.managementChannels)) return;
      if (!this.synced) {
        // before restore()/apply() nothing is written: they install the policy with these channels
        this.current = next;
      } else {
        const { policy, expired } = expirePolicy(next, this.now());
        if (hasInterdiction(policy) || hasInterdiction(this.current)) {
          await this.commit(policy, expired);
        } else {
          this.current = policy;
          await this.persist();
        }
      }
      this.log.info({ managementChannels: next.managementChannels }, 'management channel set');
    });
  }

  // -------------------------------------------------------------------------------------------

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Channels set in this process are newer than persisted ones. */
  private withOwnChannels(p: InterdictionPolicy): InterdictionPolicy {
    return this.channelsSet && this.current.managementChannels.length > 0 ? withManagementChannels(p, this.current.managementChannels) : p;
  }

  private async getBackend(): Promise<FirewallBackend> {
    this.backend ??= await selectBackend(this.preference);
    return this.backend;
  }

  /** First use without restore(): take the persisted policy as current, without touching the kernel. */
  private async load(): Promise<void> {
    if (this.loaded) return;
    const state = await readStateFile(this.stateFile);
    if (state) this.current = this.withOwnChannels(state.policy);
    this.loaded = true;
  }

  private async commit(policy: InterdictionPolicy, expired: ExpiredPart[]): Promise<InterdictionReport> {
    const backend = await this.getBackend();
    const previous = this.current;
    await backend.apply(policy);
    this.current = policy;
    this.synced = true;
    try {
      await this.persist();
    } catch (e) {
      // kernel and state file must agree: put the previous rules back, then report the failure
      this.current = previous;
      await backend.apply(previous).catch((e2: unknown) => this.log.error({ err: e2 }, 'interdiction: rollback after a failed state write also failed'));
      throw e;
    }
    const rules = await this.readActive();
    if (!rules.inSync) this.log.error({ expected: rules.expectedRuleComments, found: rules.kernelRuleComments }, 'interdiction: kernel rules differ from the policy just applied');
    return { backend: backend.name, policy: structuredClone(policy), description: describePolicy(policy, this.now()), expired, verified: rules.inSync };
  }

  private async persist(): Promise<void> {
    const backend = await this.getBackend();
    await writeStateFile(this.stateFile, { version: STATE_VERSION, backend: backend.name, updatedAt: this.now(), policy: this.current });
  }

  private async readActive(): Promise<ActiveRules> {
    const backend = await this.getBackend();
    const back = await backend.readBack();
    const expected = backend.expectedComments(this.current);
    return {
      backend: backend.name,
      policy: structuredClone(this.current),
      kernelRuleset: back.listing,
      kernelRuleComments: back.ruleComments,
      expectedRuleComments: expected,
      inSync: sameMultiset(expected, back.ruleComments),
      description: describePolicy(this.current, this.now()),
    };
  }

  private async cleanUpOtherBackend(name: BackendName): Promise<void> {
    try {
      const other = await selectBackend(name);
      await other.apply(emptyPolicy());
      this.log.warn({ from: name, to: this.backend?.name }, 'interdiction backend changed; removed the old backend\'s rules');
    } catch (e) {
      this.log.warn({ err: e, backend: name }, 'interdiction: could not remove rules of the previous backend');
    }
  }
}
