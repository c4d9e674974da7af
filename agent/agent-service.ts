// The running agent: live capture -> pipeline -> encrypted spool -> shipper, with a
// status file for `meerkat-agent status` and an orderly stop (the open dump is spooled).
// startAgentService is the composition root; each part is built by a named step below.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../shared/log.js';
import { AddressAnonymizer } from '../shared/anonymize/address-anonymizer.js';
import { loadAnonKey } from '../shared/keys/owner-keys.js';
import { Spool } from './spool/index.js';
import { startLivePipeline, type LivePipeline } from './pipeline/live-pipeline.js';
import { loadAgentIdentity } from './transport/agent-identity.js';
import { createAgentShipper } from './transport/agent-shipper.js';
import { collectorEndpoints } from './transport/collector-url.js';
import type { Shipper } from './transport/shipper.js';
import type { AgentConfig } from './config.js';
import { startAgentControl, type AgentControl } from './control/agent-control.js';
import { PausableSpool } from './control/pausable-spool.js';
import { WatchlistTrigger } from './watchlist/watchlist-trigger.js';
import { createResponseRouter } from './watchlist/response-command-router.js';
import type { WatchlistPayload } from '../shared/watchlist/watchlist-codec.js';
import { leanCaptureAdvice, runtimeProfile } from './runtime-profile.js';
import { hostname } from 'node:os';
import { createAppMetaExtractor } from '../shared/appmeta/app-meta-extractor.js';
import { retroCaptureOptions, startRetro } from './retro/retro-start.js';

export const STATUS_FILE = 'status.json';
const STOP_DRAIN_MS = 3_000;

export interface AgentService {
  readonly agentId: string;
  readonly live: LivePipeline;
  readonly shipper: Shipper;
  readonly spool: Spool;
  /** remote control: signed commands, capture changes, interdiction, inventory */
  readonly control: AgentControl;
  status(): Record<string, unknown>;
  stop(): Promise<void>;
}

/** The process's memory: RSS and the V8 heap (committed and used), for status and benchmarks. */
function memoryFigures(): { rssBytes: number; heapTotalBytes: number; heapUsedBytes: number; externalBytes: number } {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, externalBytes: m.external };
}

export { anonKeyPath } from './config.js';
import { anonKeyPath } from './config.js';

/** Identity, anonymization key and anonymizer: what every dump is made with. */
function loadIdentityAndAnonymizer(cfg: AgentConfig): { identity: ReturnType<typeof loadAgentIdentity>; key: Uint8Array; anonymizer: AddressAnonymizer } {
  const identity = loadAgentIdentity(cfg.stateDir);
  const key = cfg.anonymize.policy === 'none' ? new Uint8Array(32) : loadAnonKey(anonKeyPath(cfg));
  const anonymizer = new AddressAnonymizer({ key, policy: cfg.anonymize.policy, internalPrefixes: cfg.anonymize.internalPrefixes });
  return { identity, key, anonymizer };
}

/** Live capture into dumps, each put in the spool (`spooled` tells the shipper). */
function startCapture(cfg: AgentConfig, agentId: string, key: Uint8Array, anonymizer: AddressAnonymizer, spool: Spool, collector: { host: string; port: number }, spooled: () => void, log: Logger): Promise<LivePipeline> {
  return startLivePipeline({
    capture: {
      interfaces: cfg.capture.interfaces,
      bpf: cfg.capture.bpf,
      // the retro ring needs payload from the first packet: the capture starts at its snap length,
      // with a ring request that keeps enough slots of that size (retro-start.ts)
      ...retroCaptureOptions(cfg),
      collectors: [collector],
    },
    pipeline: {
      agentId,
      anonymizer,
      snapLen: cfg.dump.snapLen,
      packetsPerDump: cfg.dump.packetsPerDump,
      dumpSeconds: cfg.dump.maxSeconds,
      noiseSampleSeconds: cfg.capture.noiseSampleSeconds,
      metadata: cfg.metadata.enabled
        ? createAppMetaExtractor({ key, addresses: anonymizer, names: cfg.anonymize.names, internalSuffixes: cfg.anonymize.internalSuffixes, hostNames: [hostname()] })
        : undefined,
      metadataCaptureBytes: cfg.metadata.captureBytes,
      nextSequence: () => spool.nextSequence(),
      onDump: (bytes, header) => {
        spool.put(header.sequence, bytes, header.packetCount);
        spooled();
      },
    },
    log,
  });
}

/** What each heartbeat tells the collector: capture counters, packet-time watermark, control state. */
function heartbeatCounters(live: LivePipeline, control: AgentControl): () => Record<string, unknown> {
  return () => {
    const s = live.stats();
    return {
      packetsCaptured: s.packetsSeen,
      packetsKept: s.packetsKept,
      packetsDropped: s.queueDrops,
      ...(s.kernelDrops !== null ? { packetsIfDropped: s.kernelDrops } : {}),
      dumpsWritten: s.dumps,
      // read after the spool's stats in the heartbeat would race; the watermark is taken
      // here, before them, so a dump spooled in between only makes spoolFiles > 0
      packetTimeUs: s.pendingSinceUs > 0 ? s.pendingSinceUs : Date.now() * 1000,
      // heartbeat extras (the health schema keeps unknown fields): version, control state, interdiction
      ...control.health(),
    };
  };
}

/**
 * The status file for `meerkat-agent status` (every 2 s) and the health log line (every 30 s,
 * with the lean-profile advice when capture falls behind). Returns the timers' stop.
 */
function startStatusReporting(stateDir: string, status: () => Record<string, unknown>, healthLine: () => Record<string, unknown>, live: LivePipeline, profile: ReturnType<typeof runtimeProfile>, log: Logger): { writeStatus(): void; stop(): void } {
  const writeStatus = (): void => {
    try {
      const p = join(stateDir, STATUS_FILE);
      writeFileSync(p + '.tmp', JSON.stringify(status(), null, 2), { mode: 0o600 });
      renameSync(p + '.tmp', p);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'cannot write status file');
    }
  };
  mkdirSync(stateDir, { recursive: true });
  writeStatus();
  let lastHealth = live.stats();
  const timer = setInterval(() => {
    writeStatus();
    log.info(healthLine(), 'agent health');
    const now = live.stats();
    const advice = leanCaptureAdvice(profile, (now.kernelDrops ?? 0) - (lastHealth.kernelDrops ?? 0), now.packetsSeen - lastHealth.packetsSeen);
    if (advice) log.warn({ profile }, advice);
    lastHealth = now;
  }, 30_000);
  timer.unref();
  const quickStatus = setInterval(writeStatus, 2_000);
  quickStatus.unref();
  return {
    writeStatus,
    stop: () => {
      clearInterval(timer);
      clearInterval(quickStatus);
    },
  };
}

/** Ships what the stop just spooled, for a bounded time (what is left goes out at the next start). */
async function drainShipper(sh: Shipper, spool: Spool): Promise<void> {
  sh.notify();
  const until = Date.now() + STOP_DRAIN_MS;
  while (Date.now() < until && sh.stats().connected && spool.list().length > 0) await new Promise((r) => setTimeout(r, 50));
  await sh.stop();
}

export async function startAgentService(cfg: AgentConfig, log: Logger): Promise<AgentService> {
  const { identity, key, anonymizer } = loadIdentityAndAnonymizer(cfg);
  const spool = Spool.open({ dir: join(cfg.stateDir, 'spool'), maxBytes: cfg.spool.maxBytes });
  const collectorUrl = cfg.collector?.url ?? identity.collectorUrl;
  const ep = collectorEndpoints(collectorUrl);
  const collector = { host: ep.host, port: ep.port };

  let shipper: Shipper | undefined;
  const live = await startCapture(cfg, identity.agentId, key, anonymizer, spool, collector, () => shipper?.notify(), log);
  // the retro ring (off by default): recent packets with payload, shipped only on capture.retro
  const retro = cfg.retro.enabled ? startRetro(cfg, { agentId: identity.agentId, anonymizer, live, spool, notify: () => shipper?.notify(), log }) : null;

  // "stop shipping" pauses uploads through this wrapper; the connection stays up for commands
  const shipping = new PausableSpool(spool);
  const control = await startAgentControl({
    stateDir: cfg.stateDir,
    agentId: identity.agentId,
    collector,
    anonKey: key,
    policy: cfg.anonymize.policy,
    internalPrefixes: cfg.anonymize.internalPrefixes,
    live,
    shipping,
    defaults: { snapLen: cfg.dump.snapLen, packetsPerDump: cfg.dump.packetsPerDump, dumpSeconds: cfg.dump.maxSeconds },
    retro: retro?.control ?? null,
    log,
  });
  const counters = heartbeatCounters(live, control);

  // near real time: a packet to/from a watchlisted address has its dump shipped at once
  const watchlist = new WatchlistTrigger({
    flush: () => live.pipeline.flush(),
    install: (w) => live.pipeline.setPacketWatch(w),
    log,
  });
  // commands signed by an authorised collector response key go to a scoped executor
  const router = createResponseRouter({ stateDir: cfg.stateDir, agentId: identity.agentId, operator: control.executor.handle, control, log });
  const sh = createAgentShipper({ stateDir: cfg.stateDir, spool: shipping, collectorUrl, capture: counters, onCommand: router.handle, log });
  shipper = sh;
  sh.on('watchlist', (m: WatchlistPayload) => { watchlist.update(m); });
  sh.on('connected', (remote: { address: string; port: number } | null) => {
    if (remote) live.capture.excludeConnection(remote.address, remote.port);
    control.onConnected(remote);
  });
  sh.start();

  const profile = runtimeProfile();
  log.info({ profile, node: process.version, execArgv: process.execArgv }, profile === 'lean' ? 'runtime profile lean (V8 lite mode: interpreter only, smallest memory)' : 'runtime profile fast (optimizing JIT)');
  const startedAt = new Date().toISOString();
  let stoppedAt: string | null = null;
  const status = (): Record<string, unknown> => ({
    agentId: identity.agentId,
    collector: collectorUrl,
    updated: new Date().toISOString(),
    // `meerkat-agent status` tells a running agent from a stopped one by these
    pid: process.pid,
    startedAt,
    stoppedAt,
    capture: live.stats(),
    spool: spool.stats(),
    shipper: sh.stats(),
    control: control.health(),
    watchlist: watchlist.stats(),
    retro: retro ? retro.control.stats() : { enabled: false },
    responses: router.stats(),
    memory: memoryFigures(),
    runtime: { profile, node: process.version },
  });
  const reporting = startStatusReporting(cfg.stateDir, status, () => ({ capture: counters(), spool: spool.stats(), shipper: sh.stats() }), live, profile, log);

  log.info({ agentId: identity.agentId, collector: collectorUrl, interfaces: cfg.capture.interfaces, snapLen: cfg.dump.snapLen }, 'agent running');
  return {
    agentId: identity.agentId,
    live,
    shipper: sh,
    spool,
    control,
    status,
    stop: async () => {
      reporting.stop();
      watchlist.stop();
      control.stop();
      live.stop();
      retro?.stop();
      await drainShipper(sh, spool);
      stoppedAt = new Date().toISOString();
      // what the stop spooled and did not ship is on disk before the process ends
      await spool.flushed();
      reporting.writeStatus();
    },
  };
}
