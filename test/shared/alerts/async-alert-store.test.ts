// The AsyncAlertStore contract on SQLite (SqliteAsyncAlertStore over the single process's
// SqliteAlertStore, a fresh database file per test).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { SqliteAsyncAlertStore } from '../../../shared/alerts/async-alert-store.js';
import { asyncAlertStoreContract } from './async-alert-store-contract.js';

describe('SqliteAsyncAlertStore', () => {
  const dirs: string[] = [];
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  asyncAlertStoreContract('sqlite', async (o) => {
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-alerts-'));
    dirs.push(dir);
    return new SqliteAsyncAlertStore(new SqliteAlertStore(join(dir, 'm.db'), { nowUs: o.nowUs }));
  });
});
