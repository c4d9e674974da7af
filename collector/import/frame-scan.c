// The import's frame scan, compiled to WebAssembly (scripts/build-frame-scan.mjs writes the
// module into frame-scan-module.ts). It walks the whole pcap records of a chunk of a classic
// pcap file in linear memory and, for each, writes an entry: where the frame lies, its lengths
// and time, and - for a frame of the frame memo's shape (Ethernet [802.1Q] / IPv4 / TCP, not a
// SYN, taken as the decoder's fast lane takes it) - the memo table entry of its real key and
// whether that key was already there, with the fields the flow engine counts. This is
// FrameFlowMemo.match (frame-flow-memo.ts) test for test, over many frames per call: the
// import's JavaScript then only reads the entries. Keep the two equal; the property test in
// test/collector/import/frame-scanner.test.ts holds them to the fast lane together.
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;

#define RECORD_HEADER 16
#define ENTRY_WORDS 16
#define LINKTYPE_ETHERNET 1
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_VLAN 0x8100
#define IPPROTO_TCP 6
#define TCP_SYN 0x02
#define NOP_NOP_TIMESTAMPS 0x0101080au
#define KEY_WORDS 4

// Entry layout, 16 words (64 bytes): the time as a double in words 0-1, then
enum {
  E_FRAME = 2,    // offset of the frame in linear memory
  E_CAPLEN = 3,
  E_WIRELEN = 4,
  E_SLOT = 5,     // the memo table entry of the frame's key; -1: not of the memo's shape
  E_HIT = 6,      // 1: the key was in the table; 0: it was written there now
  E_FLAGS = 7,    // TCP flags
  E_SEQ = 8,
  E_ACK = 9,
  E_WINDOW = 10,
  E_IPLEN = 11,   // the IPv4 total length
  E_PORTS = 12,   // source port << 16 | destination port
  E_PAYOFF = 13,  // payload offset in linear memory
  E_PAYLEN = 14,
};

static u32 consumedTo;

/** Where the last scan() stopped: the first record it did not take. */
u32 consumed(void) { return consumedTo; }

// Linear memory is addressed by u32 offsets; AT(a) is the byte there (the regions the caller
// lays out start above the module's own data, never at 0).
#define AT(a) (*(const u8 *)(a))

/** The 32-bit word at a as stored (WebAssembly is little-endian; loads need no alignment). */
static inline u32 ld32(u32 a) { u32 v; __builtin_memcpy(&v, (const void *)a, 4); return v; }
static inline u32 ld16(u32 a) { unsigned short v; __builtin_memcpy(&v, (const void *)a, 2); return v; }
static inline u32 swap32(u32 v) { return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24); }
static inline u32 rd32(u32 a, int le) { u32 v = ld32(a); return le ? v : swap32(v); }
static inline u32 be16(u32 a) { u32 v = ld16(a); return ((v & 0xff) << 8) | (v >> 8); }
static inline u32 be32(u32 a) { return swap32(ld32(a)); }

/** Whether TCP options in [o, end) are free of what the decoder marks malformed (as optionsWellFormed). */
static int optionsWellFormed(u32 o, u32 end) {
  while (o < end) {
    u32 kind = AT(o);
    if (kind == 0) return 1;
    if (kind == 1) { o++; continue; }
    if (o + 2 > end) return 0;
    u32 len = AT(o + 1);
    if (len < 2 || o + len > end) return 0;
    o += len;
  }
  return 1;
}

/**
 * The memo's test of the frame at f (capLen captured of wireLen); writes the entry's memo part.
 * keys: the table, 2^(32 - shift) entries of KEY_WORDS words.
 */
static void matchFrame(u32 f, u32 capLen, u32 wireLen, i32 *keys, u32 shift, i32 *e) {
  e[E_SLOT] = -1;
  u32 end = f + capLen;
  u32 l3 = f + 14;
  if (l3 + 20 > end) return;
  u32 type = be16(f + 12);
  u32 vlan = 0;
  if (type == ETHERTYPE_VLAN) {
    u32 tag = be32(l3);
    vlan = (tag >> 16) & 0x0fff;
    type = tag & 0xffff;
    l3 += 4;
    if (l3 + 20 > end) return;
  }
  if (type != ETHERTYPE_IPV4) return;
  u32 ip0 = be32(l3);
  u32 vihl = ip0 >> 24;
  u32 hl = (vihl & 0x0f) << 2;
  if ((vihl >> 4) != 4 || hl < 20 || AT(l3 + 9) != IPPROTO_TCP) return;
  u32 total = ip0 & 0xffff;
  if (total < hl) return;
  u32 declEnd = l3 + total;
  u32 declLen = declEnd - f; // lengths from the frame's start: f + wireLen could wrap
  int capShort = capLen < wireLen;
  if (declLen > (capShort ? wireLen : capLen) || (declLen > capLen && !capShort)) return;
  u32 l4 = l3 + hl;
  if ((be16(l3 + 6) & 0xbfff) != 0) return;
  u32 segEnd = declEnd < end ? declEnd : end;
  if (segEnd < l4 + 20) return;
  u32 tcp3 = be32(l4 + 12);
  u32 tcpHl = (tcp3 >> 28) << 2;
  u32 tcpFlags = (tcp3 >> 16) & 0xff;
  if (tcpHl < 20 || l4 + tcpHl > segEnd || (tcpFlags & TCP_SYN) != 0) return;
  // options the decoder would mark malformed make the record damaged: not the memo's
  if (tcpHl > 20 && !(tcpHl == 32 && be32(l4 + 20) == NOP_NOP_TIMESTAMPS) && !optionsWellFormed(l4 + 20, l4 + tcpHl)) return;

  i32 src = (i32)be32(l3 + 12);
  i32 dst = (i32)be32(l3 + 16);
  i32 ports = (i32)be32(l4);
  i32 rest = (i32)vlan + 1;
  // Math.imul(src ^ Math.imul(dst ^ rest, 0x9e3779b1) ^ Math.imul(ports, 0x85ebca6b), 0xc2b2ae35) >>> shift
  u32 h = (u32)src ^ ((u32)(dst ^ rest) * 0x9e3779b1u) ^ ((u32)ports * 0x85ebca6bu);
  u32 slot = (h * 0xc2b2ae35u) >> shift;
  i32 *k = keys + slot * KEY_WORDS;
  e[E_SLOT] = (i32)slot;
  if (k[0] != src || k[1] != dst || k[2] != ports || k[3] != rest) {
    k[0] = src; k[1] = dst; k[2] = ports; k[3] = rest;
    e[E_HIT] = 0;
    return;
  }
  u32 pay = l4 + tcpHl;
  e[E_HIT] = 1;
  e[E_FLAGS] = (i32)tcpFlags;
  e[E_SEQ] = (i32)be32(l4 + 4);
  e[E_ACK] = (i32)be32(l4 + 8);
  e[E_WINDOW] = (i32)(tcp3 & 0xffff);
  e[E_IPLEN] = (i32)total;
  e[E_PORTS] = ports;
  e[E_PAYOFF] = (i32)pay;
  e[E_PAYLEN] = declEnd > pay ? (i32)(declEnd - pay) : 0;
}

/**
 * Writes an entry for each whole pcap record in [pos, end), at most maxEntries, into out;
 * returns how many. consumed() is then where it stopped: at end, at the first record not
 * whole in the chunk, at a record longer than maxRecord (the reader reports it), or after
 * maxEntries. ethernet: the file's link type is Ethernet (else no frame is of the memo's shape);
 * le: the headers are little-endian; ns: the fractions are nanoseconds.
 */
u32 scan(u32 pos, u32 end, double *out, u32 maxEntries, u32 maxRecord, int ethernet, int le, int ns,
         i32 *keys, u32 shift) {
  u32 n = 0;
  while (n < maxEntries && end - pos >= RECORD_HEADER) {
    u32 capLen = rd32(pos + 8, le);
    if (capLen > maxRecord || end - pos - RECORD_HEADER < capLen) break;
    u32 frac = rd32(pos + 4, le);
    double *o = out + n * (ENTRY_WORDS / 2);
    i32 *e = (i32 *)o;
    // µs exact (sec * 1e6 < 2^53); ns floored to µs, as the reader does
    o[0] = (double)rd32(pos, le) * 1e6 + (double)(ns ? frac / 1000 : frac);
    e[E_FRAME] = (i32)(pos + RECORD_HEADER);
    e[E_CAPLEN] = (i32)capLen;
    u32 wireLen = rd32(pos + 12, le);
    e[E_WIRELEN] = (i32)wireLen;
    if (ethernet) matchFrame(pos + RECORD_HEADER, capLen, wireLen, keys, shift, e);
    else e[E_SLOT] = -1;
    pos += RECORD_HEADER + capLen;
    n++;
  }
  consumedTo = pos;
  return n;
}
