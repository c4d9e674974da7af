// The import's frame scan: the frame memo's test and table lookup (frame-flow-memo.ts) for a
// whole chunk of a classic pcap file per call, in compiled code (frame-scan.c, WebAssembly).
// In JavaScript, reading the record header and the frame's fields cost ~700 instructions a
// frame, the bounds and type checks of each typed-array or DataView read around the few loads
// that do the work (docs/benchmarks.md, "The frame scan"). The scan writes one 64-byte entry
// per record - where the frame lies in the module's memory, its lengths and time, its memo
// entry and, for a key already in the table, the fields the flow engine counts - and the import
// reads the entries. The memo's key table lives in the module's memory; its flows stay in the
// memo. The chunk is copied in from the reader's window (1 MiB at a time).
import { FRAME_SCAN_WASM_BASE64 } from './frame-scan-module.js';
import { FrameFlowMemo } from './frame-flow-memo.js';

/** bytes of records copied in and scanned per chunk */
export const SCAN_CHUNK_BYTES = 1 << 20;
/** entries written per scan() call at most */
const MAX_ENTRIES = 4096;
const ENTRY_BYTES = 64;
const PAGE_BYTES = 65536;

/** Word indexes in an entry (Int32Array index = entry * ENTRY_WORDS + word); the time is the double at entry * 8 of the Float64Array. */
export const ENTRY_WORDS = 16;
export const E_FRAME = 2;
export const E_CAPLEN = 3;
export const E_WIRELEN = 4;
export const E_SLOT = 5;
export const E_HIT = 6;
export const E_FLAGS = 7;
export const E_SEQ = 8;
export const E_ACK = 9;
export const E_WINDOW = 10;
export const E_IPLEN = 11;
export const E_PORTS = 12;
export const E_PAYOFF = 13;
export const E_PAYLEN = 14;

interface ScanExports {
  scan(pos: number, end: number, out: number, maxEntries: number, maxRecord: number, ethernet: number, le: number,
    ns: number, keys: number, shift: number): number;
  consumed(): number;
  __heap_base: { value: number };
}
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
/** The part of node's WebAssembly global used here (this project's TypeScript libraries do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number }) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | null = null;

export class FrameScanner {
  readonly memo: FrameFlowMemo;
  /** the module's memory as bytes: frames lie at bytes[entry E_FRAME, + E_CAPLEN) (renewed when the memory grows) */
  bytes!: Uint8Array;
  /** the entries as words and as doubles (renewed with bytes) */
  words!: Int32Array;
  times!: Float64Array;
  /** where the chunk, the entries and the key table lie in the module's memory */
  readonly chunkAt: number;
  /** bytes of records scanned per chunk */
  readonly chunkBytes: number;
  private readonly entriesAt: number;
  private readonly keysAt: number;
  private readonly memory: WasmMemory;
  private readonly x: ScanExports;

  /** chunkBytes: SCAN_CHUNK_BYTES but in tests (small chunks put many records across their ends) */
  constructor(chunkBytes = SCAN_CHUNK_BYTES) {
    this.chunkBytes = chunkBytes;
    compiled ??= new wasmApi.Module(Buffer.from(FRAME_SCAN_WASM_BASE64, 'base64'));
    this.memory = new wasmApi.Memory({ initial: 2 });
    this.x = new wasmApi.Instance(compiled, { env: { memory: this.memory } }).exports as ScanExports;
    this.chunkAt = (this.x.__heap_base.value + ENTRY_BYTES - 1) & ~(ENTRY_BYTES - 1);
    this.entriesAt = this.chunkAt + chunkBytes;
    this.keysAt = this.entriesAt + MAX_ENTRIES * ENTRY_BYTES;
    this.fit(this.keysAt);
    this.memo = new FrameFlowMemo((words) => this.keyTable(words));
  }

  /** Copies src[from, from + len) (len <= chunkBytes) to the chunk; scan from chunkAt. */
  load(src: Uint8Array, from: number, len: number): void {
    this.bytes.set(src.subarray(from, from + len), this.chunkAt);
  }

  /**
   * Entries for the whole records in the module's memory [pos, end): how many (written to
   * entry 0 on), at most MAX_ENTRIES; consumed() is where it stopped. ethernet: the file's link
   * type is Ethernet; le: little-endian headers; ns: nanosecond fractions.
   */
  scan(pos: number, end: number, ethernet: boolean, le: boolean, ns: boolean, maxRecord: number): number {
    const m = this.memo;
    return this.x.scan(pos, end, this.entriesAt, MAX_ENTRIES, maxRecord, ethernet ? 1 : 0, le ? 1 : 0, ns ? 1 : 0,
      m.keys.byteOffset, m.hashShift);
  }

  /** The address of the first record the last scan() did not take. */
  consumed(): number {
    return this.x.consumed();
  }

  /** The memo's key table at keysAt, zeroed; the memory grows to hold it (views renewed). */
  private keyTable(words: number): Int32Array {
    this.fit(this.keysAt + words * 4);
    const t = new Int32Array(this.memory.buffer, this.keysAt, words);
    t.fill(0);
    return t;
  }

  /** Grows the memory to at least `bytes` (views renewed when it grows). */
  private fit(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    if (this.words === undefined || bytes > have) this.views();
  }

  private views(): void {
    const b = this.memory.buffer;
    this.bytes = new Uint8Array(b);
    this.words = new Int32Array(b, this.entriesAt, MAX_ENTRIES * ENTRY_WORDS);
    this.times = new Float64Array(b, this.entriesAt, MAX_ENTRIES * (ENTRY_WORDS / 2));
  }
}
