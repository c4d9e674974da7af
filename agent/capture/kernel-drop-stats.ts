// Kernel drop counts for live capture sessions on Linux. `cap` exposes no pcap_stats(), and
// neither /proc/net/packet nor sock_diag (`ss -0 -m`, whose "d" counts sk_drops) report the
// packets a full capture ring lost: those are only in getsockopt(PACKET_STATISTICS) on the
// socket itself. Node cannot call getsockopt on a foreign descriptor, so this module finds
// libpcap's packet socket among the process's descriptors (socket inode listed in
// /proc/net/packet), hands it to a short-lived `perl` child as fd 3 (perl-base is part of
// every Debian/Ubuntu install), and reads struct tpacket_stats { tp_packets, tp_drops }.
// The kernel zeroes the counters on every read, so callers accumulate deltas.
// Where perl or /proc is missing the counts stay unknown (null), and docs/capture.md says so.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

export interface PacketSocketStats {
  /** packets that passed the filter since the last read, dropped ones included */
  packets: number;
  /** of those, packets the kernel dropped because the ring was full */
  drops: number;
}

/** Inodes of the packet sockets in this network namespace. */
function packetSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  let text: string;
  try {
    text = readFileSync('/proc/net/packet', 'utf8');
  } catch {
    return inodes;
  }
  const lines = text.split('\n');
  // header: sk RefCnt Type Proto Iface R Rmem User Inode
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i]!.trim().split(/\s+/);
    if (cols.length >= 9) inodes.add(cols[8]!);
  }
  return inodes;
}

/** This process's descriptors that are packet sockets (Linux; empty elsewhere). */
export function packetSocketFds(): Set<number> {
  const fds = new Set<number>();
  if (process.platform !== 'linux') return fds;
  const inodes = packetSocketInodes();
  if (inodes.size === 0) return fds;
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return fds;
  }
  for (const e of entries) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${e}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1]!)) fds.add(Number(e));
  }
  return fds;
}

// SOL_PACKET = 263, PACKET_STATISTICS = 6 on every Linux architecture
const PERL_PROBE =
  'open(my $s, "+<&=", 3) or exit 2; my $v = getsockopt($s, 263, 6); defined $v or exit 3; ' +
  'my ($p, $d) = unpack("LL", $v); print "$p $d\\n";';

/**
 * Reads (and thereby resets) the kernel counters of packet socket `fd`. Resolves null when
 * they cannot be learned (no perl, not a packet socket, not Linux). Asynchronous on purpose:
 * the capture callback must keep draining the ring meanwhile.
 */
export function readPacketSocketStats(fd: number, timeoutMs = 5000): Promise<PacketSocketStats | null> {
  if (process.platform !== 'linux') return Promise.resolve(null);
  return new Promise((resolve) => {
    let out = '';
    let done = false;
    const finish = (v: PacketSocketStats | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    let child: ChildProcess;
    try {
      child = spawn('perl', ['-e', PERL_PROBE], { stdio: ['ignore', 'pipe', 'ignore', fd] });
    } catch {
      resolve(null);
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(null);
    }, timeoutMs);
    timer.unref();
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => { out += s; });
    child.on('error', () => finish(null));
    child.on('close', (code) => {
      const m = /^(\d+) (\d+)$/.exec(out.trim());
      finish(code === 0 && m ? { packets: Number(m[1]), drops: Number(m[2]) } : null);
    });
  });
}
