// Test fixture, not a test: runs the agent's real live capture + pipeline inside whatever
// network namespace it was started in (`ip netns exec NS node --import tsx THIS CONFIG`),
// writes each dump to CONFIG.outDir, prints `READY <json>` once capturing, and on a `stop`
// line on stdin reads the kernel counters, stops (emitting the open dump), prints
// `STATS <json>` and exits. `flush` emits the open dump (-> FLUSHED); `block MS` keeps the
// event loop busy for MS milliseconds (-> BLOCKED) so the kernel ring must absorb traffic;
// `stats` prints the current STATS without stopping; `exclude ADDR PORT` reports a shipper
// connection (-> EXCLUDED).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AddressAnonymizer, type AnonymizePolicy } from '../../../shared/anonymize/address-anonymizer.js';
import { startLivePipeline } from '../../../agent/pipeline/live-pipeline.js';
import { logger } from '../../../shared/log.js';
import type { InterfaceSpec, CollectorAddress } from '../../../agent/capture/live-capture.js';
import { createAppMetaExtractor } from '../../../shared/appmeta/app-meta-extractor.js';
import type { NamePolicy } from '../../../shared/anonymize/name-pseudonymizer.js';

export interface LiveChildConfig {
  interfaces: InterfaceSpec;
  outDir: string;
  keyHex: string;
  policy: AnonymizePolicy;
  agentId: string;
  collectors?: CollectorAddress[];
  snapLen?: number;
  packetsPerDump?: number;
  bufferBytes?: number;
  bpf?: string;
  noiseSampleSeconds?: number;
  rescanSeconds?: number;
  /** stands in for DNS: collector host name -> addresses */
  resolveMap?: Record<string, string[]>;
  /** metadata extraction with this name policy (absent: off) */
  metadata?: { names: NamePolicy; internalSuffixes?: string[]; hostNames?: string[] };
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as LiveChildConfig;
let seq = 1;
const key = Buffer.from(cfg.keyHex, 'hex');
const anonymizer = new AddressAnonymizer({ key, policy: cfg.policy });
const live = await startLivePipeline({
  log: logger('capture'),
  capture: {
    interfaces: cfg.interfaces,
    collectors: cfg.collectors ?? [],
    bufferBytes: cfg.bufferBytes,
    bpf: cfg.bpf,
    rescanSeconds: cfg.rescanSeconds ?? 10,
    resolve: cfg.resolveMap
      ? async (host: string) => {
        const a = cfg.resolveMap![host];
        if (!a) throw new Error(`no such host ${host}`);
        return a;
      }
      : undefined,
  },
  pipeline: {
    agentId: cfg.agentId,
    anonymizer,
    metadata: cfg.metadata ? createAppMetaExtractor({ key, addresses: anonymizer, ...cfg.metadata }) : undefined,
    snapLen: cfg.snapLen ?? 0,
    packetsPerDump: cfg.packetsPerDump ?? 20_000,
    noiseSampleSeconds: cfg.noiseSampleSeconds ?? 0,
    nextSequence: () => seq++,
    onDump: (bytes, header) => writeFileSync(join(cfg.outDir, `${String(header.sequence).padStart(8, '0')}.mkd`), bytes),
  },
});
process.stdout.write(`READY ${JSON.stringify({ hostAddresses: live.pipeline.hostAddresses, sessions: live.capture.stats().sessions })}\n`);

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'flush') {
    live.pipeline.flush();
    process.stdout.write('FLUSHED\n');
    return;
  }
  if (cmd.startsWith('block ')) {
    process.stdout.write('BLOCKING\n');
    const until = Date.now() + Number(cmd.slice(6));
    while (Date.now() < until) { /* busy: the capture callback cannot run */ }
    process.stdout.write('BLOCKED\n');
    return;
  }
  if (cmd.startsWith('exclude ')) {
    const [, addr, port] = cmd.split(' ');
    live.capture.excludeConnection(addr!, Number(port));
    process.stdout.write('EXCLUDED\n');
    return;
  }
  if (cmd.startsWith('snap ')) {
    live.setSnapLen(Number(cmd.slice(5)));
    process.stdout.write(`SNAP ${live.capture.currentSnapLen}\n`);
    return;
  }
  if (cmd === 'stats') {
    process.stdout.write(`STATS ${JSON.stringify(live.stats())}\n`);
    return;
  }
  if (cmd !== 'stop') return;
  live.stop();
  process.stdout.write(`STATS ${JSON.stringify(live.stats())}\n`);
  rl.close();
  process.exit(0);
});
