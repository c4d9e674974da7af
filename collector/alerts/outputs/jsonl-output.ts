// Alerts appended to a JSON lines file: one object per changed alert (alertPayload),
// written synchronously per batch (one append per batch, the file is the durable log). A file
// that cannot be written is an error at start (OutputOpenError), not a count of failures later.
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { alertPayload } from '../../../shared/alerts/alert-types.js';
import { OutputOpenError, type AlertOutput, type OutputItem, type OutputStats } from './alert-output.js';

export class JsonLinesOutput implements AlertOutput {
  readonly name: string;
  private readonly st: OutputStats = { sent: 0, failed: 0, dropped: 0, retries: 0, queued: 0 };
  lastError: string | null = null;

  /** @throws OutputOpenError when the file (or its folder) cannot be created or appended to */
  constructor(readonly path: string) {
    this.name = `jsonl:${path}`;
    try {
      mkdirSync(dirname(path), { recursive: true });
      closeSync(openSync(path, 'a'));
    } catch (e) {
      throw new OutputOpenError(this.name, `cannot append to ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }

  send(items: readonly OutputItem[]): void {
    if (items.length === 0) return;
    const text = items.map((i) => JSON.stringify(alertPayload(i.alert, i.kind))).join('\n') + '\n';
    try {
      appendFileSync(this.path, text);
      this.st.sent += items.length;
    } catch (e) {
      this.st.failed += items.length;
      this.lastError = String(e);
    }
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {}

  stats(): OutputStats {
    return { ...this.st };
  }
}
