// A dispatch table from a small integer key (link type, EtherType, IP protocol,
// UDP port) to the decoder of the next layer. A byte index keeps lookups to two
// array loads with no hashing; protocols register themselves in register-protocols.ts.
import type { DecodedPacket } from './decoded-packet.js';
import type { DecodeState } from './decode-state.js';

/**
 * Decodes one layer starting at `off`; `end` is where usable bytes stop (the
 * smaller of the captured frame and the enclosing header's declared length).
 * Fills `out`, then usually hands the rest to the next table.
 */
export type LayerDecoder = (f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState) => void;

export class DispatchTable {
  readonly name: string;
  private readonly slot: Uint8Array;
  private readonly decoders: (LayerDecoder | undefined)[] = [undefined];

  /** keys are integers in [0, keyLimit) */
  constructor(name: string, keyLimit: number) {
    this.name = name;
    this.slot = new Uint8Array(keyLimit);
  }

  register(key: number, decoder: LayerDecoder): void {
    if (!Number.isInteger(key) || key < 0 || key >= this.slot.length) throw new RangeError(`${this.name}: key ${key} outside 0..${this.slot.length - 1}`);
    let i = this.decoders.indexOf(decoder);
    if (i <= 0) {
      if (this.decoders.length >= 256) throw new RangeError(`${this.name}: more than 255 distinct decoders`);
      i = this.decoders.push(decoder) - 1;
    }
    this.slot[key] = i;
  }

  /** The decoder for key, or undefined (also for keys out of range). */
  get(key: number): LayerDecoder | undefined {
    return this.decoders[this.slot[key] ?? 0];
  }

  has(key: number): boolean {
    return (this.slot[key] ?? 0) !== 0;
  }
}
