// The control side of a running agent, assembled in one place for agent-service.ts: capture
// control over the live pipeline and the shipping switch, interdiction through the
// InterdictionManager, the inventory with its sealed half, pinned operator keys and the replay
// record - all behind one CommandExecutor (the shipper's onCommand). Also what the heartbeat
// reports about them (every address already in its collector-safe form).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { childLogger, type Logger } from '../../shared/log.js';
import type { AnonymizePolicy } from '../../shared/anonymize/address-anonymizer.js';
import { loadBoxPublicKey } from '../../shared/keys/owner-keys.js';
import { MEERKAT_VERSION } from '../../shared/version.js';
import { InterdictionManager } from '../interdiction/interdiction-manager.js';
import type { LivePipeline } from '../pipeline/live-pipeline.js';
import { CaptureControl } from './capture-control.js';
import { CommandExecutor } from './command-executor.js';
import { InterdictionControl } from './interdiction-control.js';
import { buildInventoryReport, collectInventory } from './inventory.js';
import { type InventoryReport } from '../../shared/commands/agent-reports.js';
import type { PausableSpool } from './pausable-spool.js';
import type { RetroControl } from '../retro/retro-control.js';
import { PeerResolver } from './peer-resolver.js';
import { loadPinnedOperatorKeys } from './pinned-keys.js';
import { ReplayGuard } from './replay-guard.js';

const CONTROL_SUBDIR = 'control';
/** the owner's box public key, installed beside anon.key */
const AGENT_BOX_PUB_FILE = 'box.pub';

export interface AgentControlOptions {
  stateDir: string;
  agentId: string;
  /** the collector as configured (host name or address, TLS port) */
  collector: { host: string; port: number };
  anonKey: Uint8Array;
  policy: AnonymizePolicy;
  internalPrefixes?: string[] | undefined;
  live: LivePipeline;
  shipping: PausableSpool;
  defaults: { snapLen: number; packetsPerDump: number; dumpSeconds: number };
  log: Logger;
  /** firewall backend for interdiction; 'off' disables it (default 'auto') */
  interdiction?: 'auto' | 'nft' | 'iptables' | 'off';
  /** the retro ring's pulls (capture.retro), when the ring is on */
  retro?: RetroControl | null;
}

export interface AgentControl {
  readonly executor: CommandExecutor;
  readonly capture: CaptureControl;
  readonly retro: RetroControl | null;
  readonly interdiction: InterdictionControl | null;
  /** shipper 'connected' event */
  onConnected(remote: { address: string; port: number } | null): void;
  /** extra heartbeat fields */
  health(): Record<string, unknown>;
  stop(): void;
}

export async function startAgentControl(o: AgentControlOptions): Promise<AgentControl> {
  const dir = join(o.stateDir, CONTROL_SUBDIR);
  const log = childLogger(o.log, 'control');
  const resolver = new PeerResolver({
    anonKey: o.anonKey,
    policy: o.policy,
    internalPrefixes: o.internalPrefixes,
    hostAddresses: () => o.live.pipeline.hostAddresses,
  });

  const capture = new CaptureControl({
    pipeline: {
      setSnapLen: (n) => o.live.setSnapLen(n),
      addPeerRule: (r) => o.live.addPeerRule(r),
      setDumpLimits: (p, s) => o.live.pipeline.setDumpLimits(p, s),
      flush: () => o.live.pipeline.flush(),
    },
    capture: { start: () => o.live.capture.start(), stop: () => o.live.capture.stop() },
    shipping: o.shipping,
    defaults: o.defaults,
  }, join(dir, 'capture.json'), log);
  await capture.restore();

  let interdiction: InterdictionControl | null = null;
  let unavailable: string | undefined;
  if (o.interdiction === 'off') {
    unavailable = 'disabled in the agent configuration';
  } else {
    const manager = new InterdictionManager({ stateFile: join(dir, 'interdiction.json'), backend: o.interdiction ?? 'auto', log });
    const ctl = new InterdictionControl(manager, resolver, log);
    try {
      const restored = await ctl.start(o.collector);
      interdiction = ctl;
      if (restored.mode !== 'none' || restored.active.some((l) => !l.startsWith('management'))) log.warn({ active: restored.active }, 'interdiction in force');
    } catch (e) {
      ctl.stop();
      unavailable = (e as Error).message;
      log.error({ err: unavailable }, 'interdiction unavailable on this agent');
    }
  }

  // an unreadable replay record must not stop capture; it stops commands (fail closed)
  let replay: ReplayGuard | null = null;
  let replayProblem: string | undefined;
  try {
    replay = ReplayGuard.open(join(dir, 'replay.json'));
  } catch (e) {
    replayProblem = (e as Error).message;
    log.error({ err: replayProblem }, 'command replay record unusable: every command will be refused');
  }
  const boxPubFile = join(o.stateDir, AGENT_BOX_PUB_FILE);
  const inventory = (): InventoryReport => {
    const inv = collectInventory({ version: MEERKAT_VERSION, display: (a) => resolver.toDisplay(a) });
    let pub: Uint8Array | null = null;
    let problem: string | undefined;
    if (existsSync(boxPubFile)) {
      try {
        pub = loadBoxPublicKey(boxPubFile);
      } catch (e) {
        problem = (e as Error).message;
        log.error({ err: problem }, 'owner box key unusable; inventory sent without its sealed part');
      }
    }
    const report = buildInventoryReport(inv, pub);
    return problem ? { ...report, note: `owner box key unusable (${problem}); host name, users, addresses and MACs are not reported` } : report;
  };

  const executor = new CommandExecutor({
    agentId: o.agentId,
    log,
    keys: () => loadPinnedOperatorKeys(o.stateDir),
    replay,
    ...(replayProblem ? { replayProblem } : {}),
    capture,
    retro: o.retro ?? null,
    interdiction,
    ...(unavailable ? { interdictionUnavailable: unavailable } : {}),
    inventory,
  });
  const pinned = loadPinnedOperatorKeys(o.stateDir);
  if (pinned.keys.size === 0) log.warn({ dir: join(o.stateDir, 'operator-keys'), problems: pinned.problems }, 'no operator key pinned: every command will be refused');

  return {
    executor,
    capture,
    retro: o.retro ?? null,
    interdiction,
    onConnected: (remote) => {
      if (remote && interdiction) void interdiction.onConnected(remote);
    },
    health: () => {
      const c = capture.state();
      const s = executor.stats();
      return {
        agentVersion: MEERKAT_VERSION,
        control: { snapLen: c.snapLen, dump: c.dump, capture: c.capture, shipping: c.shipping, peerCapture: c.peerCapture },
        interdiction: interdiction ? interdiction.summary() : { unavailable },
        commands: { done: s.done, failed: s.failed, refused: s.refused },
        retro: o.retro ? o.retro.stats() : { enabled: false },
      };
    },
    stop: () => interdiction?.stop(),
  };
}
