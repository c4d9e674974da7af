// Demo traffic: `serve ADDR` runs an HTTP server and a UDP echo on ADDR (inside the
// peer namespace); `client ADDR SECONDS` sends HTTP requests and UDP datagrams to it.
import http from 'node:http';
import dgram from 'node:dgram';

const [mode, addr, secs] = process.argv.slice(2);
if (mode === 'serve') {
  http.createServer((req, res) => res.end('meerkat demo peer ' + 'x'.repeat(2000) + '\n')).listen(8080, addr);
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => u.send(m, r.port, r.address));
  u.bind(5300, addr);
} else if (mode === 'client') {
  const until = Date.now() + Number(secs ?? 5) * 1000;
  const u = dgram.createSocket('udp4');
  let n = 0;
  const tick = () => {
    if (Date.now() > until) { u.close(); console.log(`demo traffic: ${n} HTTP requests and ${n} UDP datagrams sent to ${addr}`); return; }
    http.get({ host: addr, port: 8080, path: '/' + n, agent: false }, (res) => res.resume()).on('error', () => {});
    u.send(Buffer.from('ping ' + n), 5300, addr);
    n++;
    setTimeout(tick, 200);
  };
  tick();
} else {
  console.error('usage: demo-peer.mjs serve ADDR | client ADDR SECONDS');
  process.exit(2);
}
