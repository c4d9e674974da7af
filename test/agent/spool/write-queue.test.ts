import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WriteQueue, unlinkIfPresent, writeFileAtomicAsync } from '../../../agent/spool/write-queue.js';

describe('spool write queue', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-wq-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs jobs one at a time in the order queued, also after a failing one', async () => {
    const errors: string[] = [];
    const q = new WriteQueue((err, what) => errors.push(`${what}: ${(err as Error).message}`));
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ms: number) => async () => {
      running++;
      assert.equal(running, 1, 'one job at a time');
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      running--;
    };
    const failedWith: unknown[] = [];
    void q.enqueue('a', job('a', 20));
    void q.enqueue('b', async () => { throw new Error('disk full'); }, (e) => failedWith.push(e));
    const c = q.enqueue('c', job('c', 1));
    assert.equal(q.size, 3);
    await c;
    assert.deepEqual(log, ['start a', 'end a', 'start c', 'end c']);
    assert.deepEqual(errors, ['b: disk full']);
    assert.equal(failedWith.length, 1);
    await q.idle();
    assert.equal(q.size, 0);
  });

  it('writes a file atomically, owner-only, without leaving its temp file', async () => {
    const target = join(dir, 'f');
    const temp = join(dir, '.tmp-f');
    await writeFileAtomicAsync(target, temp, Buffer.from('first'));
    await writeFileAtomicAsync(target, temp, Buffer.from('second'));
    assert.equal(readFileSync(target, 'utf8'), 'second');
    assert.equal(statSync(target).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['f']);
  });

  it('refuses a temp name that is taken and leaves the target as it was', async () => {
    const target = join(dir, 'f');
    writeFileSync(target, 'kept');
    writeFileSync(join(dir, '.tmp-f'), 'in the way');
    await assert.rejects(writeFileAtomicAsync(target, join(dir, '.tmp-f'), Buffer.from('new')), /EEXIST/);
    assert.equal(readFileSync(target, 'utf8'), 'kept');
  });

  it('unlinkIfPresent deletes a file and accepts one already gone', async () => {
    const f = join(dir, 'x');
    writeFileSync(f, 'x');
    await unlinkIfPresent(f);
    assert.ok(!existsSync(f));
    await unlinkIfPresent(f);
    await assert.rejects(unlinkIfPresent(dir), (e: NodeJS.ErrnoException) => e.code !== 'ENOENT');
  });
});
