// What the interdiction manager needs from a firewall: replace our whole rule set with the one
// for a policy (atomically where the platform allows), and read back what the kernel really
// holds. One implementation per platform tool; `selectBackend` picks one.
import type { InterdictionPolicy } from './policy.js';
import { MeerkatError } from '../../shared/errors.js';

export type BackendName = 'nft' | 'iptables' | 'windows';
export type BackendPreference = BackendName | 'auto';

export interface KernelReadback {
  /** our rules as the firewall lists them ('' when none are installed) */
  listing: string;
  /** the comment / id of each of our installed rules, in order */
  ruleComments: string[];
}

export interface FirewallBackend {
  readonly name: BackendName;
  /** Installs exactly the rules for `policy` (an inactive policy removes ours). */
  apply(policy: InterdictionPolicy): Promise<void>;
  readBack(): Promise<KernelReadback>;
  /** What readBack().ruleComments must equal once `policy` is applied. */
  expectedComments(policy: InterdictionPolicy): string[];
}

export class NoFirewallBackendError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_NO_FIREWALL';
  constructor(preference: BackendPreference, detail: string) {
    super(`no usable firewall backend for interdiction (asked for ${preference}): ${detail}`);
    this.name = 'NoFirewallBackendError';
  }
}
