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

/**
 * A logger for a part of the component `parent` logs for (the agent's control side, its
 * response router): the line keeps the parent's `component` and names the part in `part`.
 * pino writes every binding of every level of child loggers, so binding `component` again
 * would put the key in the line twice; each key must appear once (a test parses the lines).
 */
export function childLogger(parent: Logger, part: string): Logger {
  const bound = parent.bindings();
  if (!('component' in bound)) return parent.child({ component: part });
  if (!('part' in bound)) return parent.child({ part });
  return parent.child({ subpart: part });
}

export function setLogLevel(level: string): void {
  rootLogger().level = level;
}
