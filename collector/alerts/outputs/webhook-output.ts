// Alerts POSTed as JSON to a webhook (one alert per request, alertPayload), from a
// bounded queue (oldest dropped when full) by one background sender. Network errors,
// timeouts, 5xx and 429 are retried with exponential backoff (plus jitter; 429's
// Retry-After is honoured up to the maximum); other 4xx are not retried (the receiver
// refused this alert: retrying would not help).
import { alertPayload } from '../../../shared/alerts/alert-types.js';
import { BoundedQueue, waitUntil, type AlertOutput, type OutputItem, type OutputStats } from './alert-output.js';

export interface WebhookOutputOptions {
  url: string;
  headers?: Record<string, string>;
  /** queue limit (default 1000 alerts) */
  maxQueue?: number;
  /** retries after the first attempt (default 5) */
  maxRetries?: number;
  /** first retry delay, ms (default 500); doubles per retry up to maxBackoffMs (default 30000) */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** per-request timeout, ms (default 10000) */
  timeoutMs?: number;
}

export class WebhookOutput implements AlertOutput {
  readonly name: string;
  private readonly queue: BoundedQueue<OutputItem>;
  private readonly st: OutputStats = { sent: 0, failed: 0, dropped: 0, retries: 0, queued: 0 };
  private running = false;
  private inFlight = false;
  private closed = false;
  private wake: (() => void) | null = null;
  lastError: string | null = null;
  lastStatus = 0;

  constructor(private readonly opts: WebhookOutputOptions) {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`webhook url must be http(s), got ${opts.url}`);
    this.name = `webhook:${u.origin}${u.pathname}`;
    this.queue = new BoundedQueue(opts.maxQueue ?? 1000);
  }

  send(items: readonly OutputItem[]): void {
    if (this.closed) return;
    for (const i of items) this.queue.push(i);
    if (!this.running) void this.run();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(); };
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        // taken off the queue first: an overflow while it is in flight drops older queued ones, not it
        const item = this.queue.shift()!;
        this.inFlight = true;
        await this.deliver(item);
        this.inFlight = false;
      }
    } finally {
      this.inFlight = false;
      this.running = false;
    }
  }

  private async deliver(item: OutputItem): Promise<void> {
    const body = JSON.stringify(alertPayload(item.alert, item.kind));
    const maxRetries = this.opts.maxRetries ?? 5;
    let delay = this.opts.backoffMs ?? 500;
    const maxDelay = this.opts.maxBackoffMs ?? 30_000;
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs = 0;
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(this.opts.headers ?? {}) },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        this.lastStatus = res.status;
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) { this.st.sent++; return; }
        this.lastError = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) { this.st.failed++; return; }
        const ra = Number(res.headers.get('retry-after'));
        if (res.status === 429 && ra > 0) retryAfterMs = ra * 1000;
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
      }
      if (attempt >= maxRetries || this.closed) { this.st.failed++; return; }
      this.st.retries++;
      const jitter = 1 + Math.random() * 0.2;
      await this.sleep(Math.min(maxDelay, Math.max(retryAfterMs, delay * jitter)));
      delay = Math.min(maxDelay, delay * 2);
    }
  }

  async drain(timeoutMs = 10_000): Promise<void> {
    await waitUntil(() => this.queue.length === 0 && !this.inFlight, timeoutMs);
  }

  async close(): Promise<void> {
    await this.drain(5000);
    this.closed = true;
    this.wake?.();
  }

  stats(): OutputStats {
    return { ...this.st, dropped: this.queue.dropped, queued: this.queue.length };
  }
}
