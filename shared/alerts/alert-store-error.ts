// The error of both alert stores (SQLite and PostgreSQL): cannot open, use or page them.
import { MeerkatError } from '../errors.js';

export class AlertStoreError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ALERT_STORE';
  constructor(message: string) {
    super(message);
    this.name = 'AlertStoreError';
  }
}
