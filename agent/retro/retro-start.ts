// The retro ring as the agent service runs it: opened in <stateDir>/retro with the agent's
// configuration (key "retro"), installed as the pipeline's retro tap (the capture's snap length
// follows its snap length), and its pulls wired to the spool and the shipper.
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import type { AddressAnonymizer } from '../../shared/anonymize/address-anonymizer.js';
import type { AgentConfig } from '../config.js';
import type { LivePipeline } from '../pipeline/live-pipeline.js';
import type { Spool } from '../spool/index.js';
import { LinkType } from '../../shared/decode/link-types.js';
import { RetroControl } from './retro-control.js';
import { RetroRing } from './retro-ring.js';

export const RETRO_SUBDIR = 'retro';
/**
 * Capture ring request while the retro ring is on: slots of ~2 KiB instead of ~350 bytes, so
 * 4 MiB (~1,900 slots, about 100 ms of 20,000 packets/s) instead of 2 MiB (docs/pcap.md, "Cost").
 */
export const RETRO_CAPTURE_BUFFER_BYTES = 4 << 20;

/** The live capture's options as the retro ring needs them (none when it is off). */
export function retroCaptureOptions(cfg: AgentConfig): { bufferBytes: number; payloadBytes?: number } {
  if (!cfg.retro.enabled) return { bufferBytes: cfg.capture.bufferBytes };
  return { bufferBytes: Math.max(cfg.capture.bufferBytes, RETRO_CAPTURE_BUFFER_BYTES), payloadBytes: Math.max(cfg.dump.snapLen, cfg.retro.snapLen) };
}

export interface RunningRetro {
  ring: RetroRing;
  control: RetroControl;
  /** removes the tap and shreds the ring (keys destroyed, files deleted) */
  stop(): void;
}

export function startRetro(cfg: AgentConfig, o: { agentId: string; anonymizer: AddressAnonymizer; live: LivePipeline; spool: Spool; notify: () => void; log: Logger }): RunningRetro {
  // as the live pipeline's dumps say it (informational in every dump header)
  const linkType = cfg.capture.interfaces === 'any' ? LinkType.LinuxSll : LinkType.Ethernet;
  const ring = RetroRing.open({
    dir: join(cfg.stateDir, RETRO_SUBDIR), seconds: cfg.retro.seconds, maxBytes: cfg.retro.maxBytes, snapLen: cfg.retro.snapLen, log: o.log,
  });
  o.live.pipeline.setRetroTap(ring);
  // the capture started at the ring's snap length (retroCaptureOptions) and follows it from then on
  const control = new RetroControl({
    ring, agentId: o.agentId, anonymizer: o.anonymizer, linkType, spool: o.spool, spoolMaxBytes: cfg.spool.maxBytes,
    notify: o.notify, maxPullBytes: cfg.retro.maxPullBytes, log: o.log,
  });
  o.log.info({ seconds: cfg.retro.seconds, maxBytes: cfg.retro.maxBytes, snapLen: cfg.retro.snapLen }, 'retro ring on (encrypted on this disk, shipped only on a signed capture.retro)');
  return {
    ring,
    control,
    stop: () => {
      o.live.pipeline.setRetroTap(null);
      ring.close();
    },
  };
}
