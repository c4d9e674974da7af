// The agent memory and CPU part of `npm run bench` (issue 14: <= 10 % of a core and <= 60 MB
// RSS at 20,000 packets/s in the default profile): the shipped agent in its default (fast)
// profile, the same without its working-set trim (MEERKAT_AGENT_TRIM=off) and the lean profile
// as references, full-size packets, and a 60 s run for the steady state. bench/run.ts calls it; `node dist/bench/agent-memory-report.js [--json]` runs this
// part alone (needs root: network namespaces).
import { pathToFileURL } from 'node:url';
import { benchAgentMemory } from './agent-memory.js';
import { BenchReport } from './report.js';

export async function reportAgentMemory(report: BenchReport, log: (s: string) => void): Promise<void> {
  log('agent memory and CPU: meerkat-agent run (as shipped: bundle + launcher, default fast profile) enrolled to meerkat-collector run, capturing in a namespace while the peer sends 20k packets/s');
  try {
    const mem = await benchAgentMemory({ seconds: 10, rate: 20_000 });
    log('agent memory, reference: the same agent without its working-set trim (MEERKAT_AGENT_TRIM=off), same traffic');
    const untrimmed = await benchAgentMemory({ seconds: 10, rate: 20_000, env: { MEERKAT_AGENT_TRIM: 'off' } });
    log('agent memory, reference: the same agent in the lean profile (MEERKAT_AGENT_PROFILE=lean: V8 interpreter only), same traffic');
    const lean = await benchAgentMemory({ seconds: 10, rate: 20_000, env: { MEERKAT_AGENT_PROFILE: 'lean' } });
    const mb = (k: string): number => mem.mappings[k] ?? 0;
    report.add({
      name: 'agent RSS while capturing (peak)',
      value: mem.peak.rssMb,
      unit: 'MB',
      reference: { name: 'lean profile (trimmed too)', value: lean.peak.rssMb },
      target: '<= 60',
      note: `fast profile (the service default${mem.trimmed ? ', start-up pages trimmed' : ', NOT trimmed'}); without the trim ${untrimmed.peak.rssMb.toFixed(1)} MB; ${mem.packetsSeen} of ${mem.packetsSent} packets captured, ${mem.cpuPercent.toFixed(1)} % CPU (without the trim ${untrimmed.cpuPercent.toFixed(1)} %, lean: ${lean.cpuPercent.toFixed(0)} %)`,
    });
    report.add({ name: '  of which private (V8 heap, malloc, stacks)', value: mem.peak.anonMb, unit: 'MB', reference: { name: 'lean profile', value: lean.peak.anonMb } });
    report.add({ name: '    of which V8 heap committed (peak)', value: mem.heapTotalMb, unit: 'MB', note: `${mem.heapUsedMb.toFixed(1)} MB used` });
    report.add({ name: '  of which file-backed', value: mem.peak.fileMb, unit: 'MB' });
    report.add({ name: '    node binary', value: mb('node binary'), unit: 'MB', reference: { name: 'lean profile', value: lean.mappings['node binary'] ?? 0 } });
    report.add({ name: '    capture ring (packet socket)', value: mb('capture ring (packet socket)'), unit: 'MB' });
    report.add({ name: '    shared libraries and addons', value: mb('shared libraries') + mb('native addons (.node)'), unit: 'MB' });
    report.add({ name: 'agent RSS while capturing (peak) without the working-set trim', value: untrimmed.peak.rssMb, unit: 'MB', note: `MEERKAT_AGENT_TRIM=off; ${untrimmed.cpuPercent.toFixed(1)} % CPU` });
    report.add({ name: 'agent PSS at the end (shared pages divided among their processes)', value: mem.endShare.pssMb, unit: 'MB', reference: { name: 'without the trim', value: untrimmed.endShare.pssMb } });
    report.add({ name: 'agent private memory at the end (pages no other process maps)', value: mem.endShare.privateMb, unit: 'MB', reference: { name: 'without the trim', value: untrimmed.endShare.privateMb } });
    report.add({ name: 'agent minor page faults during the 10 s of traffic', value: mem.minorFaults, unit: 'faults', reference: { name: 'without the trim', value: untrimmed.minorFaults }, note: `major (from disk): ${mem.majorFaults}, without the trim ${untrimmed.majorFaults}` });
    report.add({ name: 'agent CPU while capturing 20,000 packets/s', value: mem.cpuPercent, unit: '% of a core', reference: { name: 'lean profile', value: lean.cpuPercent }, target: '<= 10' });
    log('agent CPU with full-size packets: the same agent and rate, 1400-byte datagrams (a download; the 1,952-byte capture snap length keeps them whole)');
    const big = await benchAgentMemory({ seconds: 10, rate: 20_000, payloadBytes: 1400 });
    report.add({ name: 'agent CPU while capturing 20,000 packets/s of 1400-byte datagrams', value: big.cpuPercent, unit: '% of a core', reference: { name: '32-byte datagrams', value: mem.cpuPercent }, target: '<= 10', note: `peak RSS ${big.peak.rssMb.toFixed(1)} MB; ${big.packetsSeen} of ${big.packetsSent} packets captured` });
    log('agent memory after a minute: the same agent and rate for 60 s (steady state beside the 10 s peak)');
    const minute = await benchAgentMemory({ seconds: 60, rate: 20_000 });
    report.add({ name: 'agent RSS after 60 s of 20,000 packets/s', value: minute.end.rssMb, unit: 'MB', target: '<= 60', note: `peak over the 60 s ${minute.peak.rssMb.toFixed(1)} MB, PSS ${minute.endShare.pssMb.toFixed(1)} MB, private ${minute.endShare.privateMb.toFixed(1)} MB (${minute.end.anonMb.toFixed(1)} MB anonymous); ${minute.cpuPercent.toFixed(1)} % CPU; ${minute.packetsSeen} of ${minute.packetsSent} packets captured` });
    report.add({ name: 'agent RSS idle (connected, no traffic)', value: mem.idle.rssMb, unit: 'MB' });
    report.add({ name: 'agent RSS high-water mark (start-up included)', value: mem.highWaterMb, unit: 'MB' });
  } catch (e) {
    log(`agent memory: not measured (${(e as Error).message.split('\n')[0]}); needs root and network namespaces`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = process.argv.includes('--json');
  const report = new BenchReport(json);
  await reportAgentMemory(report, (s) => { if (!json) process.stderr.write(s + '\n'); });
  process.stdout.write(json ? report.toJson() + '\n' : '\n' + report.toTable() + '\n');
}
