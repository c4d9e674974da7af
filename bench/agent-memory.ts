// Agent memory while capturing: the live pipeline runs in a child process on a veth
// inside a private network namespace while the peer namespace sends UDP at a steady
// rate; RSS is sampled from /proc. Reports the peak RSS and the part of it that is
// libpcap's capture ring (mapped packet memory, RssFile) versus the process itself.
import { readFileSync } from 'node:fs';
import { createNetnsPair, destroyNetnsPair, netnsExec, netnsSpawn } from '../test/helpers/netns.js';
import { nodeScriptArgs } from '../test/helpers/node-script.js';

export interface AgentMemoryResult {
  peakRssMb: number;
  /** peak of RssAnon: the process's own heap and code, without the capture ring */
  peakAnonMb: number;
  /** the ring and other file-backed mappings */
  peakFileMb: number;
  packetsSeen: number;
  packetsPerSec: number;
}

function rssOf(pid: number): { rss: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, file: (kb('RssFile') + kb('RssShmem')) / 1024 };
}

export async function benchAgentMemory(opts: { seconds?: number; rate?: number; bufferBytes?: number } = {}): Promise<AgentMemoryResult> {
  const seconds = opts.seconds ?? 5;
  const rate = opts.rate ?? 20_000;
  const pair = createNetnsPair();
  try {
    const child = netnsSpawn(pair.nsA, process.execPath, [...nodeScriptArgs('./agent-memory-child', import.meta.url), pair.ifA, String(opts.bufferBytes ?? 8 << 20)]);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
    for (let i = 0; i < 300 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
    if (!out.includes('ready')) throw new Error(`agent memory child did not start: ${err}`);
    const pid = child.pid!;
    let peak = { rss: 0, anon: 0, file: 0 };
    const sampler = setInterval(() => {
      try {
        const r = rssOf(pid);
        if (r.rss > peak.rss) peak = r;
      } catch { /* exited */ }
    }, 100);
    // the peer sends small UDP datagrams at a steady rate (only inside our namespaces)
    const sender = `const d=require('dgram').createSocket('udp4');const b=Buffer.alloc(32);let n=0;const end=Date.now()+${seconds * 1000};` +
      `const batch=Math.max(1,Math.round(${rate}/1000));(function t(){if(Date.now()>end){d.close();return;}for(let i=0;i<batch;i++){d.send(b,9999,'${pair.ipA}');n++;}setTimeout(t,1);})();`;
    await netnsExec(pair.nsB, process.execPath, ['-e', sender], { timeoutMs: (seconds + 20) * 1000 });
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(sampler);
    child.stdin!.write('stop\n');
    for (let i = 0; i < 100 && !out.includes('}'); i++) await new Promise((r) => setTimeout(r, 100));
    const stats = JSON.parse(out.slice(out.indexOf('{'))) as { seen: number };
    return { peakRssMb: peak.rss, peakAnonMb: peak.anon, peakFileMb: peak.file, packetsSeen: stats.seen, packetsPerSec: stats.seen / seconds };
  } finally {
    destroyNetnsPair(pair);
  }
}
