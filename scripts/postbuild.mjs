// Marks the three CLI entry points executable after tsc emits them.
import { chmodSync, existsSync } from 'node:fs';
for (const f of ['dist/agent/cli.js', 'dist/collector/cli.js', 'dist/console/cli.js']) {
  if (existsSync(f)) chmodSync(f, 0o755);
}
