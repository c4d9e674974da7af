// The floor of the per-packet work on this machine: the essential work of a flow table (walk
// the pcap records, find Ethernet[/802.1Q]/IPv4 TCP or UDP, order the 5-tuple, look it up in an
// open-addressing table, count packets, bytes, time and TCP flags per direction) written as
// plainly as it can be, once in JavaScript and once in C compiled to WebAssembly
// (bench/floor/flow-floor.c, when clang can target wasm32), both run by this node on the same
// capture in alternated rounds. It is not Meerkat's pipeline: no anonymization, TCP state or
// history, timers, fragments, tunnels, metadata, analyzers or store. What it answers is how low
// a rewrite of the per-packet path could go in each kind of code, beside what `import` and
// `replay` cost per packet (docs/benchmarks.md, "The per-packet floor").
//   node dist/bench/per-packet-floor.js --capture FILE.pcap [--rounds N]
// CPU is this process's user + system time around each pass (node's start-up excluded); each
// pass reads the whole file. The first pass is what a fresh process pays (the JavaScript one
// includes V8 compiling it); later passes show the steady cost. Reads classic little-endian
// pcap with microsecond times only.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../shared/util/repo-paths.js';
import { median } from './alternated-rounds.js';

export interface FloorPass {
  packets: number;
  /** distinct bidirectional 5-tuples (no timeouts) */
  flows: number;
  cpuSeconds: number;
}

const PCAP_LE_US = 0xa1b2c3d4;
const SLOTS = 1 << 17; // a power of two; the bench capture has ~12,000 5-tuples
const CHUNK = 1 << 23;
const MAX_RECORD = 1 << 18;

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function checkPcap(head: Uint8Array, path: string): void {
  if (head.length < 24 || new DataView(head.buffer, head.byteOffset, 24).getUint32(0, true) !== PCAP_LE_US) {
    throw new Error(`${path}: not a classic little-endian microsecond pcap (the floor reads only those: editcap -F pcap IN OUT converts)`);
  }
}

/** One pass of the JavaScript floor over `path`. */
export function floorJs(path: string): FloorPass {
  const t0 = cpuNow();
  const fd = openSync(path, 'r');
  const buf = new Uint8Array(CHUNK + MAX_RECORD);
  const dv = new DataView(buf.buffer);
  const kA = new Int32Array(SLOTS), kB = new Int32Array(SLOTS), kP = new Int32Array(SLOTS), kProto = new Uint8Array(SLOTS);
  const pkts = new Float64Array(SLOTS * 2), bytes = new Float64Array(SLOTS * 2), last = new Float64Array(SLOTS), tcpFlags = new Int32Array(SLOTS * 2);
  const mask = SLOTS - 1;
  let packets = 0, flows = 0;
  try {
    let have = readSync(fd, buf, 0, CHUNK, 0);
    let filePos = have;
    checkPcap(buf.subarray(0, have), path);
    let pos = 24;
    for (;;) {
      if (have - pos < 16 || have - pos < 16 + dv.getUint32(pos + 8, true)) {
        buf.copyWithin(0, pos, have);
        have -= pos;
        pos = 0;
        const got = readSync(fd, buf, have, CHUNK, filePos);
        if (got === 0) break;
        filePos += got;
        have += got;
        continue;
      }
      const capLen = dv.getUint32(pos + 8, true);
      if (capLen > MAX_RECORD) throw new Error(`${path}: a record of ${capLen} bytes`);
      const wire = dv.getUint32(pos + 12, true);
      const ts = dv.getUint32(pos, true) * 1e6 + dv.getUint32(pos + 4, true);
      const f = pos + 16;
      pos = f + capLen;
      packets++;
      if (capLen < 38) continue;
      let l3 = f + 14;
      let type = (buf[f + 12]! << 8) | buf[f + 13]!;
      if (type === 0x8100) { type = (buf[l3 + 2]! << 8) | buf[l3 + 3]!; l3 += 4; }
      if (type !== 0x0800) continue;
      const proto = buf[l3 + 9]!;
      const l4 = l3 + ((buf[l3]! & 15) << 2);
      if ((proto !== 6 && proto !== 17) || l4 + (proto === 6 ? 14 : 4) > pos) continue;
      const s = dv.getInt32(l3 + 12), d = dv.getInt32(l3 + 16);
      const sp = dv.getUint16(l4), dp = dv.getUint16(l4 + 2);
      const fwd = s < d || (s === d && sp <= dp);
      const a = fwd ? s : d, b = fwd ? d : s, p = fwd ? (sp << 16) | dp : (dp << 16) | sp;
      let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(p ^ proto, 0x85ebca6b), 0xc2b2ae35);
      h = (h ^ (h >>> 15)) & mask;
      while (kProto[h] !== 0 && (kA[h] !== a || kB[h] !== b || kP[h] !== p || kProto[h] !== proto)) h = (h + 1) & mask;
      if (kProto[h] === 0) {
        if (++flows > SLOTS / 2) throw new Error(`${path}: more than ${SLOTS / 2} 5-tuples`);
        kA[h] = a; kB[h] = b; kP[h] = p; kProto[h] = proto;
      }
      const side = h * 2 + (fwd ? 0 : 1);
      pkts[side]++;
      bytes[side] += wire;
      last[h] = ts;
      if (proto === 6) tcpFlags[side] |= buf[l4 + 13]!;
    }
  } finally {
    closeSync(fd);
  }
  return { packets, flows, cpuSeconds: cpuNow() - t0 };
}

interface FloorExports {
  memory: { buffer: ArrayBuffer };
  window: () => number;
  windowSize: () => number;
  reset: () => void;
  run: (pos: number, have: number) => number;
  packets: () => number;
  flows: () => number;
}

/** Builds bench/floor/flow-floor.c for wasm32 into `dir`: the .wasm path, or why it could not. */
export function buildWasmFloor(dir: string): { wasm: string } | { reason: string } {
  const src = join(repoRoot(), 'bench', 'floor', 'flow-floor.c');
  const wasm = join(dir, 'flow-floor.wasm');
  // bulk memory: reset()'s loops become memory.fill, not calls to a memset there is no libc for
  const r = spawnSync('clang', ['--target=wasm32', '-O2', '-mbulk-memory', '-nostdlib', '-Wl,--no-entry',
    '-Wl,--export=run,--export=reset,--export=window,--export=windowSize,--export=packets,--export=flows',
    '-Wl,--initial-memory=33554432', '-o', wasm, src], { encoding: 'utf8' });
  if (r.error !== undefined) return { reason: `clang not found (apt install clang lld): ${r.error.message}` };
  if (r.status !== 0 || !existsSync(wasm)) return { reason: `clang could not build it for wasm32 (is lld installed?): ${r.stderr.trim().split('\n')[0] ?? ''}` };
  return { wasm };
}

/** The part of node's WebAssembly global used here (this project's TypeScript libraries do not declare it). */
interface WasmApi {
  instantiate(bytes: Uint8Array): Promise<{ instance: { exports: unknown } }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** One pass of the compiled floor (instantiating the module included). */
export async function floorWasm(path: string, wasmFile: string): Promise<FloorPass> {
  const t0 = cpuNow();
  const { instance } = await wasmApi.instantiate(readFileSync(wasmFile));
  const x = instance.exports as FloorExports;
  x.reset();
  const size = x.windowSize();
  const win = new Uint8Array(x.memory.buffer, x.window(), size + MAX_RECORD);
  const fd = openSync(path, 'r');
  try {
    let have = readSync(fd, win, 0, size, 0);
    let filePos = have;
    checkPcap(win.subarray(0, have), path);
    let pos = 24;
    for (;;) {
      pos = x.run(pos, have);
      if (pos < 0) throw new Error(`${path}: a record longer than ${MAX_RECORD} bytes`);
      win.copyWithin(0, pos, have);
      have -= pos;
      pos = 0;
      const got = readSync(fd, win, have, size - have, filePos);
      if (got === 0) break;
      filePos += got;
      have += got;
    }
  } finally {
    closeSync(fd);
  }
  return { packets: x.packets(), flows: x.flows(), cpuSeconds: cpuNow() - t0 };
}

async function main(): Promise<void> {
  const usage = 'usage: per-packet-floor --capture FILE.pcap [--rounds N]\n';
  let values;
  try {
    ({ values } = parseArgs({ options: { capture: { type: 'string' }, rounds: { type: 'string', default: '5' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    process.stderr.write(`per-packet-floor: ${(e as Error).message}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (values.help === true) {
    process.stdout.write(usage);
    return;
  }
  const rounds = Number(values.rounds);
  if (values.capture === undefined || !Number.isSafeInteger(rounds) || rounds < 1) {
    process.stderr.write(usage);
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-floor-'));
  try {
    const built = buildWasmFloor(dir);
    const js: number[] = [];
    const wasm: number[] = [];
    let first: FloorPass | undefined;
    for (let r = 0; r < rounds; r++) {
      const a = floorJs(values.capture);
      js.push(a.cpuSeconds);
      first ??= a;
      let line = `round ${r + 1}: JavaScript ${a.cpuSeconds.toFixed(3)} s`;
      if ('wasm' in built) {
        const b = await floorWasm(values.capture, built.wasm);
        if (b.packets !== a.packets || b.flows !== a.flows) {
          throw new Error(`the two floors disagree: JavaScript ${a.packets} packets, ${a.flows} flows; compiled ${b.packets}, ${b.flows}`);
        }
        wasm.push(b.cpuSeconds);
        line += `, compiled ${b.cpuSeconds.toFixed(3)} s`;
      }
      process.stderr.write(line + '\n');
    }
    const n = first!.packets;
    // the first pass is what a fresh process pays (the JavaScript one includes its compilation);
    // the later ones show the steady cost
    const fig = (s: number[]): string => {
      const later = s.slice(1);
      const us = (x: number): string => `${(x / n * 1e6).toFixed(3)} µs`;
      return `first pass ${s[0]!.toFixed(3)} s (${us(s[0]!)} per packet)` +
        (later.length > 0 ? `, later passes median ${median(later).toFixed(3)} s (${us(median(later))})` : '');
    };
    const ratio = (i: number): string => (i === 0 ? js[0]! / wasm[0]! : median(js.slice(1)) / median(wasm.slice(1))).toFixed(2);
    const lines = [`per-packet floor: ${n} packets, ${first!.flows} 5-tuples, ${rounds} rounds (CPU of each pass)`,
      `  JavaScript          ${fig(js)}`,
      'wasm' in built ? `  compiled (wasm32)   ${fig(wasm)}\n  JavaScript / compiled: first pass ${ratio(0)}` + (rounds > 1 ? `, later passes ${ratio(1)}` : '')
        : `  compiled (wasm32)   not measured: ${built.reason}`];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`per-packet-floor: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
