// Structured logging for every process: pino, JSON lines on stderr so stdout stays
// free for command output (tables, JSON for scripts).
import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

export function rootLogger(): Logger {
  if (!root) {
    root = pino(
      {
        level: process.env.MEERKAT_LOG_LEVEL ?? 'info',
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      pino.destination({ fd: 2, sync: true }),
    );
  }
  return root;
}

/** A child logger named for the component that logs. */
export function logger(component: string): Logger {
  return rootLogger().child({ component });
}

export function setLogLevel(level: string): void {
  rootLogger().level = level;
}
