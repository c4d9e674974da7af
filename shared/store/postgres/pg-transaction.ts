// One transaction on one pooled PostgreSQL connection: BEGIN, the caller's statements, COMMIT;
// ROLLBACK if any throws. Shared by the flow store and the alert store.
import type pg from 'pg';

/** Runs fn in one transaction on one pooled connection; rolls back if it throws. */
export async function inPgTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  // a connection dying between two statements is an 'error' event of the checked-out client
  // (pg reports it to the next query as well): without a listener it would end the process
  let broken = false;
  const onError = (): void => { broken = true; };
  tx.on('error', onError);
  try {
    await tx.query('BEGIN');
    const out = await fn(tx);
    await tx.query('COMMIT');
    return out;
  } catch (e) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    tx.off('error', onError);
    // a broken connection is destroyed, not returned to the pool
    tx.release(broken);
  }
}
