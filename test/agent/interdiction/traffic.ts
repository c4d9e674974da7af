// Test helper: the LAN's workers with their listeners, and the traffic checks the interdiction
// tests share (is a TCP peer reachable, how many UDP datagrams arrive).
import type { Lan } from './lan.js';
import { startWorker, type Worker } from './worker-client.js';

export const ECHO = 7001;
export const SINK = 7002;
export const UDP = 7003;
export const HOST_ECHO = 7004;
export const MGMT = 8443;

export interface LanWorkers {
  host: Worker;
  peer1: Worker;
  peer2: Worker;
  collector: Worker;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Starts one worker per namespace: peers echo/sink/UDP, collector echo on MGMT and ECHO, host echo/sink/UDP. */
export async function startLanWorkers(lan: Lan): Promise<LanWorkers> {
  const [host, peer1, peer2, collector] = await Promise.all([startWorker(lan, 'host'), startWorker(lan, 'peer1'), startWorker(lan, 'peer2'), startWorker(lan, 'collector')]);
  for (const w of [peer1, peer2]) {
    await w.call('listen', { port: ECHO });
    await w.call('listen', { port: SINK, mode: 'sink' });
    await w.call('udpBind', { port: UDP });
  }
  await collector.call('listen', { port: MGMT });
  await collector.call('listen', { port: ECHO });
  await host.call('listen', { port: HOST_ECHO });
  await host.call('listen', { port: SINK, mode: 'sink' });
  await host.call('udpBind', { port: UDP });
  return { host, peer1, peer2, collector };
}

/** true when a TCP connection from `from` to addr:port is established and one echo comes back */
export async function reachable(from: Worker, addr: string, port = ECHO): Promise<boolean> {
  try {
    const conn = await from.call<number>('connect', { host: addr, port, timeoutMs: 1200 });
    return await from.call<boolean>('ping', { conn, timeoutMs: 1000 });
  } catch {
    return false;
  }
}

/** Datagrams that arrive at `to` out of `count` sent by `from` to addr. */
export async function udpDelivered(from: Worker, to: Worker, addr: string, count = 20): Promise<number> {
  await to.call('udpZero');
  await from.call('udpSend', { host: addr, port: UDP, count, size: 200 });
  await sleep(150);
  return to.call<number>('udpCount', { port: UDP });
}
