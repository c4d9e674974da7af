// The contract of an alert output (JSON lines file, syslog, webhook): take a batch of
// changed alerts without blocking the analysis, deliver in the background, report
// what was delivered, retried and dropped, and drain before shutdown.
import type { AlertChangeKind, StoredAlert } from '../../../shared/alerts/alert-types.js';
import { InputError } from '../../../shared/errors.js';

/** An output the configuration names that cannot be used at all (a file that cannot be written): the collector does not start. */
export class OutputOpenError extends InputError {
  readonly code = 'MEERKAT_ERR_ALERT_OUTPUT';
  constructor(name: string, why: string) {
    super(`alert output ${name}: ${why}; fix the path or its permissions in "alerts.outputs" of the configuration`);
    this.name = 'OutputOpenError';
  }
}

export interface OutputItem {
  alert: StoredAlert;
  kind: AlertChangeKind;
}

export interface OutputStats {
  sent: number;
  failed: number;
  /** dropped because the bounded queue was full */
  dropped: number;
  retries: number;
  queued: number;
}

export interface AlertOutput {
  readonly name: string;
  send(items: readonly OutputItem[]): void;
  /** resolves when everything queued so far was delivered or given up, or after timeoutMs */
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  stats(): OutputStats;
}

/** A FIFO with a size limit that drops the oldest entry when full (newest alerts matter most). */
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  dropped = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    if (this.length >= this.limit) {
      this.head++;
      this.dropped++;
    }
    this.items.push(x);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  peek(): T | undefined {
    return this.length > 0 ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const x = this.items[this.head]!;
    this.head++;
    return x;
  }
}

/** Resolves when cond() holds (checked every few ms) or after timeoutMs. */
export async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}
