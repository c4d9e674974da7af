// Exact-length views of a reused capture buffer. The decoder takes a frame whose length is
// the captured length, while live capture delivers every packet in the same 64 KiB buffer
// plus a byte count; making a subarray per packet would allocate per packet. Views are
// created once per (buffer, length) and reused: a few hundred distinct lengths in practice,
// at most 65,536 small view objects per buffer (about 5 MB) in the worst case.

export class FrameViews {
  private buf: Uint8Array | undefined;
  private views: (Uint8Array | undefined)[] = [];
  private readonly byBuffer = new WeakMap<Uint8Array, (Uint8Array | undefined)[]>();

  /** data[0..len) as a Uint8Array of exactly that length (cached). */
  view(data: Uint8Array, len: number): Uint8Array {
    if (data !== this.buf) {
      let v = this.byBuffer.get(data);
      if (v === undefined) {
        v = [];
        this.byBuffer.set(data, v);
      }
      this.buf = data;
      this.views = v;
    }
    let out = this.views[len];
    if (out === undefined) {
      out = data.subarray(0, len);
      this.views[len] = out;
    }
    return out;
  }
}
