// The retro ring as the agent service runs it: opened in <stateDir>/retro with the agent's
// configuration (key "retro"), installed as the pipeline's retro tap (the capture's snap length
// follows its snap length), and its pulls wired to the spool and the shipper.
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import type { AgentConfig } from '../config.js';
import type { LivePipeline } from '../pipeline/live-pipeline.js';
import type { Spool } from '../spool/index.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL } from '../capture/link-meta.js';
import { RetroControl } from './retro-control.js';
import { RetroRing } from './retro-ring.js';

export const RETRO_SUBDIR = 'retro';

export interface RunningRetro {
  ring: RetroRing;
  control: RetroControl;
  /** removes the tap and shreds the ring (keys destroyed, files deleted) */
  stop(): void;
}

export function startRetro(cfg: AgentConfig, o: { agentId: string; anonKeyId: string; live: LivePipeline; spool: Spool; notify: () => void; log: Logger }): RunningRetro {
  // as the live pipeline's dumps say it (informational in every dump header)
  const linkType = cfg.capture.interfaces === 'any' ? LINKTYPE_LINUX_SLL : LINKTYPE_ETHERNET;
  const ring = RetroRing.open({
    dir: join(cfg.stateDir, RETRO_SUBDIR), agentId: o.agentId, anonKeyId: o.anonKeyId, linkType,
    seconds: cfg.retro.seconds, maxBytes: cfg.retro.maxBytes, snapLen: cfg.retro.snapLen, log: o.log,
  });
  o.live.pipeline.setRetroTap(ring);
  // the capture's snap length follows the ring's from the pipeline's next tick (within a second)
  const control = new RetroControl({
    ring, agentId: o.agentId, anonKeyId: o.anonKeyId, linkType, spool: o.spool, spoolMaxBytes: cfg.spool.maxBytes,
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
