// Payload retention in the running collector: retention runs once the server is up and then
// every `payloadRetention.everyMinutes`, and the payload kept is a gauge on the collector's
// /metrics (meerkat_payload_bytes{kind="all"|"retro"}). collector-service.ts starts it.
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../shared/log.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import { PayloadRetention, payloadRetentionConfigFrom } from './payload-retention.js';

export interface RunningPayloadRetention {
  stop(): Promise<void>;
}

export function startPayloadRetention(cfg: CollectorServerConfig, dbPath: string, registry: Registry, log: Logger): RunningPayloadRetention {
  const retention = new PayloadRetention(dbPath, payloadRetentionConfigFrom(cfg as Record<string, unknown>), log);
  let running: Promise<unknown> = Promise.resolve();
  const pass = (): void => {
    running = running.then(() => retention.run()).catch((e: unknown) => log.error({ err: (e as Error).message }, 'payload retention failed'));
  };
  new Gauge({
    name: 'meerkat_payload_bytes',
    help: 'Bytes of raw dumps with packet payload the collector keeps (all, and of them retro dumps)',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      try {
        const u = retention.usage();
        this.set({ kind: 'all' }, u.totalBytes);
        this.set({ kind: 'retro' }, u.agents.reduce((a, x) => a + x.retroBytes, 0));
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'payload usage unreadable');
      }
    },
  });
  pass();
  const timer = setInterval(pass, retention.cfg.everyMinutes * 60_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      retention.close();
    },
  };
}
