// What an analyzer emits and what the store, the outputs and the console read back: an alert's
// severity, the optional suggested response, and the emitted alert itself. Types only (and the
// severity order).
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** A response the collector may turn into a command for the agent (the operator decides). */
export interface SuggestedResponse {
  /**
   * capture-peer: full payload capture for traffic with `peer` (optionally `port`) for durationSec;
   * block-peer: interdict traffic with `peer`; isolate-host: cut the host off except management;
   * degrade-host: quietly degrade the host's network.
   */
  action: 'capture-peer' | 'block-peer' | 'isolate-host' | 'degrade-host';
  peer?: string;
  port?: number;
  durationSec?: number;
  reason?: string;
}

/** What an analyzer emits. Alerts with the same agent + host + category + rule + peer aggregate into one row. */
export interface AlertInput {
  severity: Severity;
  /** e.g. 'threat-intel', 'scan', 'beacon' (a user analyzer picks its own) */
  category: string;
  /** the rule or sub-kind within the category (part of the aggregation key), e.g. 'port-scan' */
  rule?: string;
  agentId: string;
  /**
   * The internal host the alert is about, by its address as stored (a pseudonym for an internal
   * address): the capturing host for an agent, one of many hosts in an imported capture. The
   * analyzer host fills it in from the flow being analyzed when an analyzer emits none.
   */
  host?: string;
  flowUid?: string;
  communityId?: string;
  /** the other endpoint (address as stored: real address or pseudonym) */
  peer?: string;
  summary: string;
  evidence: Record<string, unknown>;
  suggestedResponse?: SuggestedResponse;
  /** packet time of the observation (µs) */
  tsUs: number;
}

/** An alert as the host hands it on: the input plus the analyzer that emitted it. */
export interface EmittedAlert extends AlertInput {
  analyzer: string;
}
