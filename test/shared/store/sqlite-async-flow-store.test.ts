// The AsyncFlowStore contract on SQLite (the adapter over SqliteFlowStore), in a temp directory.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { SqliteAsyncFlowStore } from '../../../shared/store/sqlite-async-flow-store.js';
import { tmpDir } from '../../helpers/transport-rig.js';
import { asyncFlowStoreContract } from './async-flow-store-contract.js';

describe('SqliteAsyncFlowStore', () => {
  const dirs: string[] = [];
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
  asyncFlowStoreContract('sqlite', async (o) => {
    const d = tmpDir('async-sqlite');
    dirs.push(d);
    return new SqliteAsyncFlowStore(new SqliteFlowStore(join(d, 'meerkat.db'), { nowUs: o.nowUs, retention: { flowsDays: o.flowsDays, rawDumpsDays: o.flowsDays } }));
  });
});
