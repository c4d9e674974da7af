// The reader contract shared by the pcap and pcapng readers: one reused frame
// object per reader, whose data is a view into the reader's buffer.

export interface CapturedFrame {
  /** pcap LINKTYPE_* of the interface the frame was captured on */
  linkType: number;
  /** capture time, microseconds since the Unix epoch (exact for µs files, floored for finer ones) */
  tsUs: number;
  /** bytes captured (data.length) */
  capLen: number;
  /** length of the frame on the wire */
  wireLen: number;
  /** pcapng interface index within its section (as the file and tshark number it); 0 for pcap */
  interfaceId: number;
  /** the captured bytes: a view valid only until the next call to next() */
  data: Uint8Array;
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
