// Generated machines with distinct (and, for the two workstations, similar) habits, for
// the machine-signature tests: each profile yields flow records for a time range, with
// Poisson-distributed activity, heavy-tailed sizes and a seeded PRNG (repeatable).
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { exponential, flow, seededRandom } from './flow-gen.js';

export type ProfileName = 'ws-alice' | 'ws-bob' | 'file-server' | 'db-server' | 'camera' | 'build-box';

export const PROFILES: readonly ProfileName[] = ['ws-alice', 'ws-bob', 'file-server', 'db-server', 'camera', 'build-box'];

interface Kind {
  /** mean flows per minute */
  rate: number;
  make: (rand: () => number, t: number, agent: string) => FlowRecord;
}

const ext = (rand: () => number, n: number): string => `198.51.${100 + Math.floor(rand() * 3)}.${1 + Math.floor(rand() * n)}`;
const int = (rand: () => number, n: number): string => `10.20.${Math.floor(rand() * 4)}.${1 + Math.floor(rand() * n)}`;

function web(rand: () => number, t: number, agent: string, peers: number, down: number): FlowRecord {
  const d = exponential(rand, 20);
  return flow({ agent_id: agent, start: t, end: t + d * 1e6, orig_addr: `10.1.0.${agent.length}`, resp_addr: ext(rand, peers),
    resp_port: rand() < 0.85 ? 443 : 80, orig_ip_bytes: Math.floor(800 + exponential(rand, down / 20)), resp_ip_bytes: Math.floor(1000 + exponential(rand, down)),
    orig_pkts: 8 + Math.floor(rand() * 20), resp_pkts: 10 + Math.floor(rand() * 60), pcr: -0.8 + rand() * 0.3, rtt_syn_synack_us: Math.floor(10_000 + exponential(rand, 30_000)) });
}

function dns(rand: () => number, t: number, agent: string): FlowRecord {
  return flow({ agent_id: agent, start: t, end: t + 30_000, proto: 'udp', ip_proto: 17, orig_addr: `10.1.0.${agent.length}`, resp_addr: '10.0.0.53', resp_anon: true,
    resp_port: 53, orig_pkts: 1, resp_pkts: 1, orig_ip_bytes: 70, resp_ip_bytes: 140, conn_state: 'SF', history: 'Dd', rtt_syn_synack_us: null, pcr: -0.3 });
}

const KINDS: Record<ProfileName, Kind[]> = {
  'ws-alice': [
    { rate: 6, make: (r, t, a) => web(r, t, a, 200, 60_000) },
    { rate: 5, make: (r, t, a) => dns(r, t, a) },
    { rate: 0.3, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + 600e6, orig_addr: '10.1.0.8', resp_addr: ext(r, 3), resp_port: 993, orig_ip_bytes: 3000, resp_ip_bytes: Math.floor(exponential(r, 50_000)) }) },
  ],
  'ws-bob': [
    { rate: 4, make: (r, t, a) => web(r, t, a, 120, 150_000) },
    { rate: 4, make: (r, t, a) => dns(r, t, a) },
    { rate: 0.5, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + 30e6, orig_addr: '10.1.0.6', resp_addr: int(r, 3), resp_anon: true, resp_port: 445, orig_ip_bytes: Math.floor(exponential(r, 20_000)), resp_ip_bytes: Math.floor(exponential(r, 400_000)) }) },
  ],
  'file-server': [
    { rate: 8, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + exponential(r, 60) * 1e6, orig_addr: int(r, 80), resp_addr: '10.20.9.9', resp_anon: true, resp_port: 445,
      orig_ip_bytes: Math.floor(2000 + exponential(r, 30_000)), resp_ip_bytes: Math.floor(5000 + exponential(r, 2_000_000)), pcr: -0.9, rtt_syn_synack_us: 300 }) },
    { rate: 1, make: (r, t, a) => dns(r, t, a) },
  ],
  'db-server': [
    { rate: 12, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + exponential(r, 2) * 1e6, orig_addr: int(r, 4), resp_addr: '10.20.9.10', resp_anon: true, resp_port: 5432,
      orig_ip_bytes: Math.floor(600 + exponential(r, 3000)), resp_ip_bytes: Math.floor(800 + exponential(r, 40_000)), pcr: -0.6, rtt_syn_synack_us: 200 }) },
  ],
  camera: [
    { rate: 1, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + 200_000, orig_addr: '10.30.0.5', resp_addr: '203.0.113.41', resp_port: 8883,
      orig_ip_bytes: 900 + Math.floor(r() * 100), resp_ip_bytes: 700 + Math.floor(r() * 100), pcr: 0.1, rtt_syn_synack_us: 80_000 }) },
    { rate: 1.5, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + 120e6, proto: 'udp', ip_proto: 17, orig_addr: '10.30.0.5', resp_addr: '203.0.113.40', resp_port: 10000,
      orig_ip_bytes: Math.floor(2_000_000 + r() * 500_000), resp_ip_bytes: 20_000, orig_pkts: 1800, resp_pkts: 120, pcr: 0.98, conn_state: 'SF', rtt_syn_synack_us: null }) },
    { rate: 0.2, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + 50_000, proto: 'udp', ip_proto: 17, orig_addr: '10.30.0.5', resp_addr: '192.0.2.123', resp_port: 123, orig_ip_bytes: 76, resp_ip_bytes: 76, orig_pkts: 1, resp_pkts: 1, pcr: null, rtt_syn_synack_us: null }) },
  ],
  'build-box': [
    { rate: 3, make: (r, t, a) => flow({ agent_id: a, start: t, end: t + exponential(r, 300) * 1e6, orig_addr: '10.1.0.9', resp_addr: int(r, 10), resp_anon: true, resp_port: 22,
      orig_ip_bytes: Math.floor(5000 + exponential(r, 100_000)), resp_ip_bytes: Math.floor(5000 + exponential(r, 300_000)), pcr: -0.2 + r() * 0.4 }) },
    { rate: 2, make: (r, t, a) => web(r, t, a, 15, 3_000_000) },
    { rate: 6, make: (r, t, a) => dns(r, t, a) },
  ],
};

/** Flow records of one machine between fromUs and toUs, time-ordered. */
export function machineTraffic(profile: ProfileName, agentId: string, fromUs: number, toUs: number, seed: number): FlowRecord[] {
  const rand = seededRandom(seed);
  const out: FlowRecord[] = [];
  for (const k of KINDS[profile]) {
    const meanGapUs = 60e6 / k.rate;
    for (let t = fromUs + exponential(rand, meanGapUs); t < toUs; t += exponential(rand, meanGapUs)) out.push(k.make(rand, Math.floor(t), agentId));
  }
  return out.sort((a, b) => a.start - b.start);
}
