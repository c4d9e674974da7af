// The extra CA certificates the package launcher sets aside for `import`
// (installer/linux/collector/meerkat-collector): node parses NODE_EXTRA_CA_CERTS before any
// script at every start, and an import needs it only to post alerts to an https webhook. Here:
// whether an import's configuration has such a webhook, and starting the same command again
// with the certificates back in place when it does.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';

/** Where the launcher puts NODE_EXTRA_CA_CERTS for a sub-command that starts without it. */
export const DEFERRED_CA_ENV = 'MEERKAT_DEFERRED_CA_CERTS';

/** Whether a raw collector configuration (its "alerts.outputs") posts alerts to an https webhook. */
export function hasHttpsWebhook(config: Record<string, unknown> | undefined): boolean {
  const alerts = config?.alerts;
  if (typeof alerts !== 'object' || alerts === null) return false;
  const outputs = (alerts as { outputs?: unknown }).outputs;
  if (!Array.isArray(outputs)) return false;
  return outputs.some((o: unknown) => {
    if (typeof o !== 'object' || o === null) return false;
    const { type, url } = o as { type?: unknown; url?: unknown };
    // a url that is not a string is refused later by the configuration's schema
    return type === 'webhook' && typeof url === 'string' && /^https:/i.test(url.trim());
  });
}

/**
 * When the launcher set the extra CA certificates aside and `needed`: runs this very command
 * again (same node, flags and arguments) with NODE_EXTRA_CA_CERTS restored and returns its
 * exit code; otherwise undefined (go on in this process).
 */
export function rerunWithExtraCaCerts(needed: boolean, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const file = env[DEFERRED_CA_ENV];
  if (!needed || file === undefined || file === '' || env.NODE_EXTRA_CA_CERTS !== undefined) return undefined;
  const { [DEFERRED_CA_ENV]: _set, ...rest } = env;
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...rest, NODE_EXTRA_CA_CERTS: file } });
  if (r.error) throw r.error;
  // killed by a signal: the shell's convention, 128 + its number
  return r.status ?? 128 + (r.signal ? constants.signals[r.signal] : 0);
}
