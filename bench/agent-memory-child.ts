// Traffic for the agent memory benchmark, run in the peer namespace: UDP datagrams of BYTES
// payload (default 32) to HOST at a steady RATE per second for SECONDS, spread over PORTS destination ports (so the
// agent sees many flows, as on a real host, not one). Paced per millisecond against the wall
// clock so a slow tick is caught up. Prints {"sent":N,"seconds":S,"maxTick":B,"catchUps":C} when done:
// B the most datagrams sent in one tick, C the ticks that caught up 10 ms or more.
import { createSocket } from 'node:dgram';

const [host, rateArg, secondsArg, portsArg, bytesArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const ports = Math.max(1, Number(portsArg ?? 256));
const bytes = Math.min(1472, Math.max(1, Number(bytesArg ?? 32)));
if (!host || !(rate > 0) || !(seconds > 0)) {
  process.stderr.write('usage: agent-memory-child HOST RATE SECONDS [PORTS [BYTES]]\n');
  process.exit(2);
}

const sock = createSocket('udp4');
const payload = Buffer.alloc(bytes, 0x5a);
const start = Date.now();
const end = start + seconds * 1000;
let sent = 0;
let maxTick = 0;
let catchUps = 0;

function tick(): void {
  const now = Date.now();
  if (now >= end) {
    sock.close(() => {
      process.stdout.write(JSON.stringify({ sent, seconds: (Date.now() - start) / 1000, maxTick, catchUps }) + '\n');
    });
    return;
  }
  // how many should have gone by now; never more than a 50 ms burst after a stall
  const due = Math.min(Math.floor(((now - start) * rate) / 1000) - sent, Math.ceil(rate / 20));
  // catch-up bursts (this process was not scheduled for a while): what the agent's ring must absorb
  if (due > maxTick) maxTick = due;
  if (due >= rate / 100) catchUps++;
  for (let i = 0; i < due; i++) {
    sock.send(payload, 10_000 + (sent % ports), host!);
    sent++;
  }
  setTimeout(tick, 1);
}
tick();
