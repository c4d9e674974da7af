// Matches reference flows to ours by endpoints and checks the counters. Within a
// group of flows with the same key, every reference flow is first paired 1:1 with an
// unused flow of ours whose compared fields are identical ("exact"); what is left of
// the group is then compared as sums ("aggregate": the same packets, split differently,
// e.g. Argus' one record per ICMP echo pair, FlowTest's per-peer WireGuard flows).
import { isIcmp, type ComparableFlow } from './reference-flow.js';

export interface MatchPolicy {
  /** ICMP keyed by addresses only (references without ICMP types) instead of Zeek's type pairs */
  icmpByAddresses: boolean;
  /** compare IP bytes per direction */
  bytes: boolean;
  /** compare Zeek conn_state */
  state: boolean;
  /** our originator must be the reference's first endpoint (Zeek) rather than either */
  oriented: boolean;
}

export interface Miss {
  reference: string;
  /** our flows with the same key, if any */
  ours: string[];
}

export interface MatchResult {
  flows: number;
  /** reference flows for which we have a flow with the same key */
  found: number;
  exact: number;
  aggregate: number;
  misses: Miss[];
  /** groups matched only as sums (reference flows and ours) */
  aggregates: Miss[];
}

function portless(f: ComparableFlow, p: MatchPolicy): boolean {
  if (isIcmp(f.ipProto)) return p.icmpByAddresses;
  return f.ipProto !== 6 && f.ipProto !== 17;
}

function endpointText(addr: string, port: number, withPort: boolean): string {
  return withPort ? `${addr}#${port}` : addr;
}

/** Group key plus whether endpoint a is the canonical first one. */
function keyOf(f: ComparableFlow, p: MatchPolicy): { key: string; aFirst: boolean } {
  const withPort = !portless(f, p);
  const a = endpointText(f.aAddr, f.aPort, withPort);
  const b = endpointText(f.bAddr, f.bPort, withPort);
  const aFirst = a <= b;
  return { key: `${f.ipProto}|${aFirst ? a : b}|${aFirst ? b : a}`, aFirst };
}

function sameEndpoint(f: ComparableFlow, g: ComparableFlow, withPort: boolean): boolean {
  return f.aAddr === g.aAddr && (!withPort || f.aPort === g.aPort) && f.bAddr === g.bAddr && (!withPort || f.bPort === g.bPort);
}

function countersEqual(ref: ComparableFlow, ours: ComparableFlow, swap: boolean, p: MatchPolicy): boolean {
  const oa = swap ? ours.bPkts : ours.aPkts;
  const ob = swap ? ours.aPkts : ours.bPkts;
  if (oa !== ref.aPkts || ob !== ref.bPkts) return false;
  if (p.bytes && ref.aBytes !== null && ref.bBytes !== null) {
    const ba = swap ? ours.bBytes : ours.aBytes;
    const bb = swap ? ours.aBytes : ours.bBytes;
    if (ba !== ref.aBytes || bb !== ref.bBytes) return false;
  }
  if (p.state && ref.connState !== undefined && ref.connState !== ours.connState) return false;
  return true;
}

function exactMatch(ref: ComparableFlow, ours: ComparableFlow, p: MatchPolicy): boolean {
  const withPort = !portless(ref, p);
  const straight = sameEndpoint(ref, ours, withPort);
  if (straight && countersEqual(ref, ours, false, p)) return true;
  if (p.oriented) return false;
  const swapped: ComparableFlow = { ...ours, aAddr: ours.bAddr, aPort: ours.bPort, bAddr: ours.aAddr, bPort: ours.aPort };
  return sameEndpoint(ref, swapped, withPort) && countersEqual(ref, ours, true, p);
}

interface Sums { fwd: number; rev: number; fwdBytes: number; revBytes: number; bytesKnown: boolean }

function sums(flows: { f: ComparableFlow; aFirst: boolean }[]): Sums {
  const s: Sums = { fwd: 0, rev: 0, fwdBytes: 0, revBytes: 0, bytesKnown: true };
  for (const { f, aFirst } of flows) {
    s.fwd += aFirst ? f.aPkts : f.bPkts;
    s.rev += aFirst ? f.bPkts : f.aPkts;
    if (f.aBytes === null || f.bBytes === null) s.bytesKnown = false;
    else {
      s.fwdBytes += aFirst ? f.aBytes : f.bBytes;
      s.revBytes += aFirst ? f.bBytes : f.aBytes;
    }
  }
  return s;
}

function describe(f: ComparableFlow): string {
  const bytes = f.aBytes !== null ? ` ${f.aBytes}/${f.bBytes} B` : '';
  const state = f.connState !== undefined ? ` ${f.connState} ${f.history ?? ''}` : '';
  return `${f.aAddr}:${f.aPort} > ${f.bAddr}:${f.bPort} ${f.aPkts}/${f.bPkts} pkts${bytes}${state}`;
}

export function matchFlows(refs: readonly ComparableFlow[], ours: readonly ComparableFlow[], p: MatchPolicy): MatchResult {
  const groups = new Map<string, { refs: { f: ComparableFlow; aFirst: boolean }[]; ours: { f: ComparableFlow; aFirst: boolean }[] }>();
  const group = (key: string) => {
    let g = groups.get(key);
    if (g === undefined) { g = { refs: [], ours: [] }; groups.set(key, g); }
    return g;
  };
  for (const f of refs) { const k = keyOf(f, p); group(k.key).refs.push({ f, aFirst: k.aFirst }); }
  for (const f of ours) { const k = keyOf(f, p); group(k.key).ours.push({ f, aFirst: k.aFirst }); }

  const res: MatchResult = { flows: refs.length, found: 0, exact: 0, aggregate: 0, misses: [], aggregates: [] };
  for (const g of groups.values()) {
    if (g.refs.length === 0) continue;
    if (g.ours.length > 0) res.found += g.refs.length;
    const used = new Array<boolean>(g.ours.length).fill(false);
    const leftRefs: { f: ComparableFlow; aFirst: boolean }[] = [];
    for (const r of g.refs) {
      let hit = -1;
      for (let i = 0; i < g.ours.length; i++) {
        if (!used[i] && exactMatch(r.f, g.ours[i]!.f, p)) { hit = i; break; }
      }
      if (hit >= 0) { used[hit] = true; res.exact++; }
      else leftRefs.push(r);
    }
    if (leftRefs.length === 0) continue;
    const leftOurs = g.ours.filter((_, i) => !used[i]);
    if (leftOurs.length > 0) {
      const a = sums(leftRefs);
      const b = sums(leftOurs);
      const bytesOk = !p.bytes || !a.bytesKnown || (a.fwdBytes === b.fwdBytes && a.revBytes === b.revBytes);
      if (!p.state && a.fwd === b.fwd && a.rev === b.rev && bytesOk) {
        res.aggregate += leftRefs.length;
        for (const r of leftRefs) res.aggregates.push({ reference: describe(r.f), ours: leftOurs.map((o) => describe(o.f)) });
        continue;
      }
    }
    for (const r of leftRefs) res.misses.push({ reference: describe(r.f), ours: g.ours.map((o) => describe(o.f)) });
  }
  return res;
}
