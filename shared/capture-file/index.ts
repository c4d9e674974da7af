// Public surface of the capture-file readers.
export type { CapturedFrame, CaptureFileReader } from './captured-frame.js';
export { CaptureFileError, type CaptureFileProblem } from './capture-file-error.js';
export { openCaptureFile, captureReaderFromBytes } from './open-capture-file.js';
export { PcapReader, PCAP_MAGIC_US, PCAP_MAGIC_NS } from './pcap-reader.js';
export { PcapngReader, PCAPNG_SHB_TYPE } from './pcapng-reader.js';
