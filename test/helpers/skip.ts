// Skipping a test says why, in the test output: mocha's own skip() records only that a test
// is pending, and a skip nobody can explain is a defect.

/** Marks the running test (or hook's suite) pending and prints `reason` on stderr. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  // in a test: that test; in a hook: its suite (skipping there skips the suite's tests)
  const r = ctx.test;
  const where = ((r as { type?: string } | undefined)?.type === 'test' ? r!.fullTitle() : r?.parent?.fullTitle()) || 'a test';
  process.stderr.write(`  skipped: ${where}: ${reason}\n`);
  ctx.skip();
}
