// Certificate renewal on the agent: when a third of the certificate's lifetime is left
// (or less than renewBeforeMs), make a new key pair and ask the collector, over the
// already-authenticated connection, to sign it. The new key and certificate are stored
// as the next identity generation and used from the next connection on.
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { verifyChainToRoot } from '../../certs/cert-chain.js';
import { promisify } from 'node:util';
import { loadAgentIdentity, saveAgentIdentity, type AgentIdentity } from './agent-identity.js';

/** What the shipper needs from a renewal policy. */
export interface RenewalHandler {
  /** true when the current certificate should be renewed now */
  due(nowMs: number): boolean;
  /** a CSR for a fresh key (kept until install) */
  prepareCsr(): Promise<string>;
  install(certPem: string, caPem: string): Promise<void>;
}

const genKey = promisify(generateKeyPair);

/** Pure: renew when less than max(lifetime/3, renewBeforeMs) remains. */
export function renewalDue(notBeforeMs: number, notAfterMs: number, nowMs: number, renewBeforeMs = 0): boolean {
  const lifetime = notAfterMs - notBeforeMs;
  const threshold = Math.max(lifetime / 3, renewBeforeMs);
  return notAfterMs - nowMs <= threshold;
}

export class StateDirRenewal implements RenewalHandler {
  private pendingKey: KeyObject | null = null;
  private identity: AgentIdentity;

  constructor(private readonly stateDir: string, private readonly opts: { renewBeforeMs?: number; keyBits?: number; onInstalled?: (id: AgentIdentity) => void } = {}) {
    this.identity = loadAgentIdentity(stateDir);
  }

  due(nowMs: number): boolean {
    return renewalDue(this.identity.notBefore.getTime(), this.identity.notAfter.getTime(), nowMs, this.opts.renewBeforeMs ?? 0);
  }

  async prepareCsr(): Promise<string> {
    // node-forge (CSR encoding) is big and needed about once a year: loaded here, not at start
    const { AGENT_KEY_BITS, createAgentCsr } = await import('../../certs/agent-csr.js');
    const { privateKey } = await genKey('rsa', { modulusLength: this.opts.keyBits ?? AGENT_KEY_BITS, publicExponent: 0x10001 });
    this.pendingKey = privateKey as KeyObject;
    return createAgentCsr(this.pendingKey);
  }

  /** `_sentCa`, the CA the collector sends along, is not trusted: the pinned one stays (a root certified again with the same key, when organisations came, still verifies the new certificate). */
  async install(certPem: string, _sentCa: string): Promise<void> {
    const key = this.pendingKey;
    if (!key) throw new Error('renewed certificate arrived without a pending key');
    // the certificate, followed by the organisation CA that signed it (none under a pre-organisation root)
    const verdict = verifyChainToRoot(certPem, this.identity.caPem);
    if (!verdict.ok) throw new Error(`renewed certificate does not lead to the pinned CA (${verdict.detail})`);
    if (!verdict.leaf.checkPrivateKey(key)) throw new Error('renewed certificate does not match the key we generated');
    this.identity = saveAgentIdentity(this.stateDir, { agentId: this.identity.agentId, collectorUrl: this.identity.collectorUrl, key, certPem, caPem: this.identity.caPem });
    this.pendingKey = null;
    this.opts.onInstalled?.(this.identity);
  }
}
