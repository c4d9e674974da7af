// Child for the service-heap test. MODE: "none" (V8 defaults), "hold" (phase 1 only), or a cap
// in MiB (phase 1, then phase 2 with that cap, as `meerkat-agent run` does once started).
// Allocates like the live pipeline - in batches of BATCH objects with the event loop turning
// in between (one batch per drained capture ring), a quarter of them surviving a scavenge or
// two - and prints the semi-space size when held, the largest seen, and what the calls returned.
import { getHeapSpaceStatistics } from 'node:v8';
import { capYoungGeneration, holdYoungGeneration } from '../../agent/service-heap.js';

const [mode = 'none', batchArg = '20000'] = process.argv.slice(2);
const batch = Number(batchArg);
const semi = (): number => (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 2;
const held = mode === 'none' ? null : holdYoungGeneration();
const atHold = semi();
const settings = mode === 'none' || mode === 'hold' ? null : capYoungGeneration(Number(mode));
let max = semi();
let keep: object[] = [];
for (let n = 0; n < 8_000_000; n += batch) {
  for (let i = 0; i < batch; i++) {
    const o = { i, pair: [i, i + 1] };
    if (i % 4 === 0) keep.push(o);
    if (keep.length > 100_000) keep = [];
  }
  max = Math.max(max, semi());
  // phase 2 steers from GC notifications, which arrive between event-loop turns
  await new Promise((r) => setImmediate(r));
}
process.stdout.write(JSON.stringify({ held, atHold, settings, maxSemiSpaceBytes: max }) + '\n');
