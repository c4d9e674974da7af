// Child for the agent memory benchmark: the agent's live capture pipeline (cap ->
// decode -> exclude -> anonymize -> dumps into an encrypted spool) on one interface,
// inside the namespace it was started in. Prints "ready", stops on stdin "stop" and
// prints its capture counters as JSON.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressAnonymizer } from '../shared/anonymize/address-anonymizer.js';
import { startLivePipeline } from '../agent/pipeline/live-pipeline.js';
import { Spool } from '../agent/spool/index.js';

const [iface, bufferBytes] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'meerkat-memchild-'));
const spool = Spool.open({ dir, maxBytes: 64 << 20 });
const live = await startLivePipeline({
  capture: { interfaces: [iface!], bufferBytes: Number(bufferBytes) },
  pipeline: {
    agentId: '00000000-0000-4000-8000-00000000beef',
    anonymizer: new AddressAnonymizer({ key: Uint8Array.from(randomBytes(32)), policy: 'internal' }),
    packetsPerDump: 20_000,
    dumpSeconds: 120,
    nextSequence: () => spool.nextSequence(),
    onDump: (b, h) => spool.put(h.sequence, b, h.packetCount),
  },
});
process.stdout.write('ready\n');
process.stdin.setEncoding('utf8').on('data', (s: string) => {
  if (!s.includes('stop')) return;
  live.stop();
  const st = live.stats();
  process.stdout.write(JSON.stringify({ seen: st.packetsSeen, kept: st.packetsKept, dumps: st.dumps, spooled: spool.stats().files }) + '\n');
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
