// Child for the service-trim test: loads what the agent loads (capture, TLS, zlib, crypto),
// trims its start-up pages through the real cap addon, then exercises all of it again plus a
// built-in module and ICU data it had not used yet, and prints what it saw as JSON. A trim
// that dropped a page holding private data (a RELRO region's relocations, a written page)
// would crash this process or corrupt a result, and the parent checks each.
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { capTrimStartupPages, newCapHandle } from '../../agent/capture/cap-binding.js';
import { TRIM_KEEP } from '../../agent/service-trim.js';

interface Mapping { key: string; writable: boolean; executable: boolean; fileBacked: boolean; rssKb: number; anonKb: number }

/** The process's mappings from /proc/self/smaps. */
function mappings(): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+-[0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      cur = { key: `${head[1]} ${head[4]}`, writable: head[2]![1] === 'w', executable: head[2]![2] === 'x', fileBacked: head[3] !== '0' && head[4]!.startsWith('/'), rssKb: 0, anonKb: 0 };
      out.push(cur);
      continue;
    }
    const kb = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (kb && cur) {
      if (kb[1] === 'Rss') cur.rssKb = Number(kb[2]);
      else cur.anonKb = Number(kb[2]);
    }
  }
  return out;
}

const rssKb = (): number => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);

const PSK = Buffer.from('meerkat-trim-test-psk-0123456789');
const PAYLOAD = 'the quick brown meerkat '.repeat(400);

/** A real TLS 1.2 PSK handshake and echo over loopback. */
async function tlsEcho(): Promise<string> {
  const server = createServer({ ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2', pskCallback: () => PSK }, (s) => { s.pipe(s); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client: TLSSocket = connect({ host: '127.0.0.1', port, ciphers: 'PSK-AES128-GCM-SHA256', maxVersion: 'TLSv1.2', checkServerIdentity: () => undefined, pskCallback: () => ({ psk: PSK, identity: 'meerkat' }) });
  await once(client, 'secureConnect');
  client.write('echo me');
  const [data] = (await once(client, 'data')) as [Buffer];
  client.destroy();
  server.close();
  return data.toString();
}

/** Opens a capture on loopback, sends `n` datagrams to a port nobody listens on, counts the records delivered. */
async function capturePackets(n: number, port: number): Promise<number> {
  const h = newCapHandle();
  const buf = Buffer.alloc(1 << 18);
  h.open('lo', `udp and dst port ${port}`, 1 << 20, buf, 256, false, true);
  let seen = 0;
  h.on('packets', (_used, count) => { seen += count; });
  const s = createSocket('udp4');
  for (let i = 0; i < n; i++) s.send(Buffer.from(`packet ${i}`), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 300));
  h.flush();
  h.close();
  s.close();
  return seen;
}

function work(): { gzip: boolean; brotli: boolean; sha256: string; signed: boolean } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const sig = sign(null, Buffer.from(PAYLOAD), privateKey);
  return {
    gzip: gunzipSync(gzipSync(PAYLOAD)).toString() === PAYLOAD,
    brotli: brotliDecompressSync(brotliCompressSync(PAYLOAD)).toString() === PAYLOAD,
    sha256: createHash('sha256').update(PAYLOAD).digest('hex'),
    signed: verify(null, Buffer.from(PAYLOAD), publicKey, sig),
  };
}

const before = { work: work(), tls: await tlsEcho(), captured: await capturePackets(50, 47_901) };
const trim = capTrimStartupPages();
if (!trim) throw new Error('the cap addon offers no trimStartupPages');
const mapsBefore = mappings();
const rssBefore = rssKb();
// the service's trim: code, libpcap and the addon stay mapped
const result = trim(TRIM_KEEP);
const rssAfterTrim = rssKb();
const mapsAfter = new Map(mappings().map((m) => [m.key, m]));
const keptShrunk = mapsBefore
  .filter((m) => m.fileBacked && m.rssKb > 0 && (m.executable || TRIM_KEEP.keepPaths!.some((k) => m.key.includes(k))))
  .filter((m) => (mapsAfter.get(m.key)?.rssKb ?? 0) < m.rssKb)
  .map((m) => `${m.key}: ${m.rssKb} -> ${mapsAfter.get(m.key)?.rssKb ?? 0} kB`);
const keptCode = mapsBefore.filter((m) => m.fileBacked && m.executable && m.rssKb > 0).length;
// every mapping holding copy-on-written pages (RELRO, written data) keeps all of them
const withPrivatePages = mapsBefore.filter((m) => m.fileBacked && m.anonKb > 0);
const anonymousLost = withPrivatePages
  .filter((m) => (mapsAfter.get(m.key)?.anonKb ?? 0) < m.anonKb)
  .map((m) => m.key);
const after = { work: work(), tls: await tlsEcho(), captured: await capturePackets(50, 47_902) };
// a built-in the process had not loaded, and ICU data it had not read
const { createInterface } = await import('node:readline');
const readlineOk = typeof createInterface === 'function';
const dateText = new Intl.DateTimeFormat('de-DE', { dateStyle: 'full', timeZone: 'UTC' }).format(new Date(Date.UTC(2026, 11, 7)));
// then the fifth round's trim of everything eligible, code included (MEERKAT_AGENT_TRIM=all), and all of it again
const again = trim();
const afterAll = { work: work(), tls: await tlsEcho(), captured: await capturePackets(50, 47_903) };
process.stdout.write(JSON.stringify({ result, keptShrunk, keptCode, rssBefore, rssAfterTrim, withPrivatePages: withPrivatePages.length, anonymousLost, before, after, readlineOk, dateText, again, afterAll }) + '\n');
