// The agent's live pipeline alone (capture + decode + exclude + anonymize + encode + compress),
// for the live capture benchmark: runs in the capturing namespace, writes no files (dumps are
// counted and dropped), prints READY, and on a "stop" line prints its health as JSON.
import { randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { AddressAnonymizer } from '../shared/anonymize/address-anonymizer.js';
import { startLivePipeline } from '../agent/pipeline/live-pipeline.js';

let seq = 1;
let dumps = 0;
const live = await startLivePipeline({
  capture: { interfaces: 'any', collectors: [] },
  pipeline: {
    agentId: randomUUID(),
    anonymizer: new AddressAnonymizer({ key: randomBytes(32), policy: 'internal' }),
    snapLen: 0,
    packetsPerDump: 20_000,
    noiseSampleSeconds: 0,
    nextSequence: () => seq++,
    onDump: () => { dumps++; },
  },
});
process.stdout.write('READY\n');
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() !== 'stop') return;
  live.stop();
  const s = live.stats();
  process.stdout.write(`${JSON.stringify({ seen: s.packetsSeen, kernelPackets: s.capture.kernelPackets, kernelDrops: s.capture.kernelDrops, dumps })}\n`);
  rl.close();
  process.exit(0);
});
