// What the agent reports in its heartbeat: its own CPU and memory (sampled here), the
// spool's size and drops, and capture counters supplied by the capture side.
import type { AgentHealth } from '../../shared/protocol/agent-protocol.js';

export interface SpoolStatsSource {
  stats(): { files: number; bytes: number; droppedDumps: number };
}

export interface CaptureCounters {
  packetsCaptured?: number;
  packetsKept?: number;
  packetsDropped?: number;
  packetsIfDropped?: number;
  dumpsWritten?: number;
  packetTimeUs?: number;
}

/** CPU percent (of one core) between successive samples, plus memory and uptime. */
class ProcessHealthSampler {
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  sample(): Pick<AgentHealth, 'cpuPercent' | 'rssBytes' | 'heapUsedBytes' | 'uptimeSec'> {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const wallUs = Number(now - this.lastAt) / 1000;
    const usedUs = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    this.lastCpu = cpu;
    this.lastAt = now;
    const mem = process.memoryUsage();
    return {
      cpuPercent: wallUs > 0 ? Math.round((usedUs / wallUs) * 1000) / 10 : 0,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeSec: Math.round(process.uptime()),
    };
  }
}

/** A health() function for the Shipper from the parts the agent has. */
export function healthReporter(parts: { spool?: SpoolStatsSource; capture?: () => CaptureCounters }): () => AgentHealth {
  const proc = new ProcessHealthSampler();
  return () => {
    const h: AgentHealth = { ...proc.sample(), ...(parts.capture?.() ?? {}) };
    if (parts.spool) {
      const s = parts.spool.stats();
      h.spoolFiles = s.files;
      h.spoolBytes = s.bytes;
      h.spoolDropped = s.droppedDumps;
    }
    return h;
  };
}
