// Payload retention plugged into `meerkat-collector run`: wraps the run hooks so retention runs
// once the server is up and then every `payloadRetention.everyMinutes`, and the payload kept is
// a gauge on the collector's /metrics (meerkat_payload_bytes{kind="all"|"retro"}).
import { Gauge } from 'prom-client';
import { logger } from '../../shared/log.js';
import type { RunHooks, RunHooksSource } from '../commands/run.js';
import { dbPathFor } from '../flow-service.js';
import { PayloadRetention, payloadRetentionConfigFrom } from './payload-retention.js';

export function withPayloadRetention(source: RunHooksSource): RunHooksSource {
  return async (cfg, flags) => {
    const base = typeof source === 'function' ? await source(cfg, flags) : source;
    const log = logger('payload');
    let retention: PayloadRetention;
    try {
      retention = new PayloadRetention(dbPathFor(cfg), payloadRetentionConfigFrom(cfg as Record<string, unknown>), log);
    } catch (e) {
      await base.onStop?.();
      throw e;
    }
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> = Promise.resolve();
    const pass = (): void => {
      running = running.then(() => retention.run()).catch((e: unknown) => log.error({ err: (e as Error).message }, 'payload retention failed'));
    };
    const hooks: RunHooks = {
      ...base,
      onStarted: async (server) => {
        await base.onStarted?.(server);
        new Gauge({
          name: 'meerkat_payload_bytes',
          help: 'Bytes of raw dumps with packet payload the collector keeps (all, and of them retro dumps)',
          labelNames: ['kind'] as const,
          registers: [server.metrics.registry],
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
        timer = setInterval(pass, retention.cfg.everyMinutes * 60_000);
        timer.unref();
      },
      onStop: async () => {
        if (timer) clearInterval(timer);
        await running;
        retention.close();
        await base.onStop?.();
      },
    };
    return hooks;
  };
}
