// Picks up revocations made by `meerkat-collector pki revoke` (another process writing the signed
// list in the PKI dir) by polling the file's identity; a list that fails to verify is
// logged and the previous one stays in force (never fail open).
import { stat } from 'node:fs/promises';
import type { Logger } from '../../shared/log.js';
import { RevocationList } from '../../certs/revocation-list.js';

export class RevocationWatcher {
  private current: RevocationList;
  private stamp = '';
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly file: string,
    private readonly caCertPem: string,
    private readonly onChange: (list: RevocationList) => void,
    private readonly onError: (e: unknown) => void,
    private readonly log: Logger,
  ) {
    this.current = RevocationList.load(file, caCertPem);
  }

  get list(): RevocationList {
    return this.current;
  }

  start(pollMs: number): void {
    void this.stampNow().then((s) => { this.stamp = s; });
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async stampNow(): Promise<string> {
    const s = await stat(this.file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  }

  /** Re-reads the list if the file changed; returns true if a new list took effect. */
  async poll(force = false): Promise<boolean> {
    if (this.polling) return false;
    this.polling = true;
    try {
      const s = await this.stampNow();
      if (!force && s === this.stamp) return false;
      this.stamp = s;
      const next = RevocationList.load(this.file, this.caCertPem);
      this.current = next;
      this.log.info({ entries: next.size, crlNumber: next.data.crlNumber }, 'revocation list reloaded');
      this.onChange(next);
      return true;
    } catch (e) {
      this.log.error({ err: e, file: this.file }, 'revocation list reload failed; keeping the previous list');
      this.onError(e);
      return false;
    } finally {
      this.polling = false;
    }
  }
}
