// The reader contract shared by the pcap and pcapng readers: one reused frame
// object per reader, pointing into the reader's buffer.

export interface CapturedFrame {
  /** pcap LINKTYPE_* of the interface the frame was captured on */
  linkType: number;
  /** capture time, microseconds since the Unix epoch (exact for µs files, floored for finer ones) */
  tsUs: number;
  /** bytes captured */
  capLen: number;
  /** length of the frame on the wire */
  wireLen: number;
  /** pcapng interface index within its section (as the file and tshark number it); 0 for pcap */
  interfaceId: number;
  /**
   * The reader's buffer: the captured bytes are buf[offset, offset + capLen). Hot loops
   * read them there (AgentPipeline.handleFrame, decodeFrame) and make no view per frame.
   * Valid only until the next call to next().
   */
  readonly buf: Uint8Array;
  readonly offset: number;
  /** the captured bytes as a view of exactly capLen bytes (made on first use; valid until next()) */
  readonly data: Uint8Array;
}

export interface CaptureFileReader {
  readonly format: 'pcap' | 'pcapng';
  /**
   * The next frame, or null at the clean end of the file. The same frame object is
   * returned every time (copy what you keep). Throws CaptureFileError on a corrupt
   * or cut-off file, after every complete frame before the damage was returned.
   */
  next(): CapturedFrame | null;
  /** Releases the file descriptor (idempotent). */
  close(): void;
  /** bytes of the file consumed so far (headers and records parsed) */
  readonly bytesRead: number;
  /** total size of the file in bytes */
  readonly fileSize: number;
  /** frames returned so far */
  readonly framesRead: number;
}

/**
 * The readers' reused frame. `data` is made lazily: replay reads buf/offset and would
 * otherwise pay a view object (and its garbage) per frame for nothing.
 */
export class ReaderFrame implements CapturedFrame {
  linkType = 0;
  tsUs = 0;
  capLen = 0;
  wireLen = 0;
  interfaceId = 0;
  buf: Uint8Array;
  offset = 0;
  private view: Uint8Array | null = null;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  get data(): Uint8Array {
    let v = this.view;
    if (v === null) {
      v = this.buf.subarray(this.offset, this.offset + this.capLen);
      this.view = v;
    }
    return v;
  }

  /** Points the frame at buf[offset, offset + capLen). */
  place(buf: Uint8Array, offset: number, capLen: number): void {
    this.buf = buf;
    this.offset = offset;
    this.capLen = capLen;
    this.view = null;
  }
}
