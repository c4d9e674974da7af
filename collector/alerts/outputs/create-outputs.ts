// Output configs -> output instances.
import type { AlertOutputConfig } from '../alerts-config.js';
import type { AlertOutput } from './alert-output.js';
import { JsonLinesOutput } from './jsonl-output.js';
import { SyslogOutput } from './syslog-output.js';
import { WebhookOutput } from './webhook-output.js';

export function createOutputs(configs: readonly AlertOutputConfig[]): AlertOutput[] {
  return configs.map((c) => {
    switch (c.type) {
      case 'jsonl':
        return new JsonLinesOutput(c.path);
      case 'syslog':
        return new SyslogOutput({
          transport: c.transport, host: c.host, port: c.port, facility: c.facility, appName: c.appName,
          ...(c.hostname ? { hostname: c.hostname } : {}), ...(c.sdId ? { sdId: c.sdId } : {}),
          ...(c.maxQueue ? { maxQueue: c.maxQueue } : {}),
        });
      case 'webhook':
        return new WebhookOutput({
          url: c.url, headers: c.headers, maxQueue: c.maxQueue, maxRetries: c.maxRetries, backoffMs: c.backoffMs,
          maxBackoffMs: c.maxBackoffMs, timeoutMs: c.timeoutMs,
        });
    }
  });
}
