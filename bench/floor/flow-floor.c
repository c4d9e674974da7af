// The per-packet floor in compiled code (bench/per-packet-floor.ts builds this for wasm32 with
// clang and runs it beside the same loop in JavaScript): pcap records in a window of linear
// memory, Ethernet[/802.1Q]/IPv4 TCP or UDP 5-tuple in canonical order, an open-addressing
// table, per-direction packet, byte and TCP flag counts and the last time. Keep it doing what
// floorJs does, check for check: the bench compares their packet and flow counts.
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;

#define SLOTS (1u << 17)
#define MASK (SLOTS - 1)
#define WINDOW (1u << 23)
#define MAX_RECORD (1u << 18)

static i32 kA[SLOTS], kB[SLOTS], kP[SLOTS];
static u8 kProto[SLOTS];
static double pkts[SLOTS * 2], bytes[SLOTS * 2], last[SLOTS];
static i32 tcpFlags[SLOTS * 2];
static u32 nPackets, nFlows;
static u8 win[WINDOW + MAX_RECORD];

u8 *window(void) { return win; }
u32 windowSize(void) { return WINDOW; }
u32 packets(void) { return nPackets; }
u32 flows(void) { return nFlows; }

void reset(void) {
  for (u32 i = 0; i < SLOTS; i++) kProto[i] = 0;
  for (u32 i = 0; i < SLOTS * 2; i++) { pkts[i] = 0; bytes[i] = 0; tcpFlags[i] = 0; }
  nPackets = 0;
  nFlows = 0;
}

static inline u32 le32(const u8 *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((u32)p[3] << 24); }
static inline i32 be32(const u8 *p) { return (i32)(((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]); }

// Counts the whole records in win[pos, have); returns where the first incomplete one starts
// (the caller moves it to the window's start and reads on), or -1 for a record too long.
i32 run(u32 pos, u32 have) {
  while (have - pos >= 16) {
    const u8 *r = win + pos;
    u32 capLen = le32(r + 8);
    if (capLen > MAX_RECORD) return -1;
    if (have - pos < 16 + capLen) break;
    u32 wire = le32(r + 12);
    double ts = le32(r) * 1e6 + le32(r + 4);
    const u8 *f = r + 16;
    u32 end = 16 + capLen;
    pos += end;
    nPackets++;
    if (capLen < 38) continue;
    u32 l3 = 14, type = (f[12] << 8) | f[13];
    if (type == 0x8100) { type = (f[16] << 8) | f[17]; l3 = 18; }
    if (type != 0x0800) continue;
    u32 proto = f[l3 + 9], l4 = l3 + ((f[l3] & 15) << 2);
    if ((proto != 6 && proto != 17) || l4 + (proto == 6 ? 14 : 4) > capLen) continue;
    i32 s = be32(f + l3 + 12), d = be32(f + l3 + 16);
    u32 sp = (f[l4] << 8) | f[l4 + 1], dp = (f[l4 + 2] << 8) | f[l4 + 3];
    int fwd = s < d || (s == d && sp <= dp);
    i32 a = fwd ? s : d, b = fwd ? d : s, p = (i32)(fwd ? (sp << 16) | dp : (dp << 16) | sp);
    u32 h = ((u32)a ^ ((u32)b * 0x9e3779b1u) ^ (((u32)p ^ proto) * 0x85ebca6bu)) * 0xc2b2ae35u;
    h = (h ^ (h >> 15)) & MASK;
    while (kProto[h] != 0 && (kA[h] != a || kB[h] != b || kP[h] != p || kProto[h] != proto)) h = (h + 1) & MASK;
    if (kProto[h] == 0) {
      if (++nFlows > SLOTS / 2) return -1;
      kA[h] = a; kB[h] = b; kP[h] = p; kProto[h] = (u8)proto;
    }
    u32 side = h * 2 + (fwd ? 0 : 1);
    pkts[side] += 1;
    bytes[side] += wire;
    last[h] = ts;
    if (proto == 6) tcpFlags[side] |= f[l4 + 13];
  }
  return (i32)pos;
}
