// Version 3's per-block column forms (docs/dump-format.md 1.4): each block of BLOCK_PACKETS
// packets stores each of its per-packet columns as plain values, one constant, or runs of
// equal values, whichever the writer finds cheaper. Why: several columns (fragment fields,
// TTL, overheads, option flags, shape) barely change within a block; writing them as one
// value or a few runs spares the writer's varint loops and hands the compressor a body a
// third smaller. Writer helpers (block of values -> form byte + values) and the reader's
// cursor wrapper (form byte read lazily at a block's first value) live here together so the
// two sides cannot drift apart.
import { ByteColumn, ColumnCursor } from './byte-column.js';

/** Form byte that opens a column's values of one block (version 3). */
export const enum BlockForm {
  /** one value per packet, as in version 2 */
  Plain = 0,
  /** one value, the same for every packet of the block */
  Const = 1,
  /** (run length varint u32 >= 1, value) pairs whose lengths sum to the block's count */
  Runs = 2,
}

/** How a column's values are written: raw byte, varint u32, zigzag53 varint. */
export const enum ValueKind {
  Byte = 0,
  U32 = 1,
  Sint = 2,
}

/** Runs pay when there are at most half as many runs as values (a run costs two varints). */
function useRuns(runs: number, n: number): boolean {
  return runs * 2 <= n;
}

/** vals[0..n) (n > 0) of a varint-u32 column as one block. */
export function writeU32Block(col: ByteColumn, vals: Uint32Array, n: number): void {
  if (n === 0) return;
  let runs = 1;
  let prev = vals[0]!;
  for (let i = 1; i < n; i++) {
    const v = vals[i]!;
    if (v !== prev) {
      runs++;
      prev = v;
    }
  }
  if (runs === 1) {
    col.byte(BlockForm.Const);
    col.u32(prev);
  } else if (useRuns(runs, n)) {
    col.byte(BlockForm.Runs);
    let start = 0;
    for (let i = 1; i <= n; i++) {
      if (i === n || vals[i] !== vals[start]) {
        col.u32(i - start);
        col.u32(vals[start]!);
        start = i;
      }
    }
  } else {
    col.byte(BlockForm.Plain);
    col.u32Run(vals, n);
  }
}

/** vals[0..n) of a byte column as one block. */
export function writeByteBlock(col: ByteColumn, vals: Uint8Array, n: number): void {
  if (n === 0) return;
  let runs = 1;
  let prev = vals[0]!;
  for (let i = 1; i < n; i++) {
    const v = vals[i]!;
    if (v !== prev) {
      runs++;
      prev = v;
    }
  }
  if (runs === 1) {
    col.byte(BlockForm.Const);
    col.byte(prev);
  } else if (useRuns(runs, n)) {
    col.byte(BlockForm.Runs);
    let start = 0;
    for (let i = 1; i <= n; i++) {
      if (i === n || vals[i] !== vals[start]) {
        col.u32(i - start);
        col.byte(vals[start]!);
        start = i;
      }
    }
  } else {
    col.byte(BlockForm.Plain);
    col.byteRun(vals, n);
  }
}

/** a[i] - b[i] for i in [0, n) of a zigzag53 column as one block. */
export function writeSintDiffBlock(col: ByteColumn, a: Uint32Array, b: Uint32Array, n: number): void {
  if (n === 0) return;
  let runs = 1;
  let prev = a[0]! - b[0]!;
  for (let i = 1; i < n; i++) {
    const v = a[i]! - b[i]!;
    if (v !== prev) {
      runs++;
      prev = v;
    }
  }
  if (runs === 1) {
    col.byte(BlockForm.Const);
    col.sint(prev);
  } else if (useRuns(runs, n)) {
    col.byte(BlockForm.Runs);
    let start = 0;
    let v0 = a[0]! - b[0]!;
    for (let i = 1; i <= n; i++) {
      const v = i === n ? NaN : a[i]! - b[i]!;
      if (v !== v0) {
        col.u32(i - start);
        col.sint(v0);
        start = i;
        v0 = v;
      }
    }
  } else {
    col.byte(BlockForm.Plain);
    col.sintDiffRun(a, b, n);
  }
}

/**
 * Reads one per-packet column value by value through its blocks. Version 3: the block's form
 * byte is read at the block's first value (a block where the column has no values has no form
 * byte); versions 1 and 2 have no forms (every block is plain). The decoder calls startBlock()
 * at each block's first packet and end() after the last packet.
 */
export class FormCursor {
  /** -1: the form byte is due; else the current block's BlockForm */
  private form: number;
  private value = 0;
  /** values left in the current run (Runs form) */
  private left = 0;

  constructor(readonly c: ColumnCursor, private readonly kind: ValueKind, private readonly forms: boolean) {
    this.form = forms ? -1 : BlockForm.Plain;
  }

  startBlock(): void {
    if (!this.forms) return;
    if (this.left !== 0) this.c.fail(`a run of ${this.left} more values continues past the end of its block`);
    this.form = -1;
  }

  end(): void {
    if (this.left !== 0) this.c.fail(`a run of ${this.left} more values continues past the last packet`);
  }

  next(): number {
    let f = this.form;
    if (f === BlockForm.Plain) return this.read();
    if (f < 0) {
      f = this.open();
      if (f === BlockForm.Plain) return this.read();
    }
    if (f === BlockForm.Const) return this.value;
    if (this.left === 0) this.openRun();
    this.left--;
    return this.value;
  }

  private read(): number {
    const k = this.kind;
    return k === ValueKind.U32 ? this.c.u32() : k === ValueKind.Byte ? this.c.byte() : this.c.sint();
  }

  private open(): number {
    const f = this.c.byte();
    if (f === BlockForm.Const) this.value = this.read();
    else if (f !== BlockForm.Plain && f !== BlockForm.Runs) this.c.fail(`unknown block form ${f}`);
    this.form = f;
    return f;
  }

  private openRun(): void {
    const len = this.c.u32();
    if (len === 0) this.c.fail('run of length 0');
    this.left = len;
    this.value = this.read();
  }
}
