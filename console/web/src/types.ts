// Shapes the API answers (docs/console-api.md).
export interface AgentView {
  agentId: string; online: boolean; connectedSince: string | null; firstSeen: string | null; lastSeen: string | null;
  version: string | null; health: Record<string, unknown> | null;
}

export interface Flow {
  id?: number; uid: string; record_seq: number; community_id: string; agent_id: string; proto: string; orig_addr: string; orig_port: number;
  resp_addr: string; resp_port: number; start: number; end: number; duration: number; orig_pkts: number; resp_pkts: number;
  orig_ip_bytes: number; resp_ip_bytes: number; conn_state: string; history: string; orig_anon: boolean; resp_anon: boolean;
  server_name?: string | null; server_name_anon?: boolean;
}

export interface Alert {
  id: number; agentId: string; category: string; rule: string; peer: string; analyzer: string; severity: string; state: string;
  summary: string; count: number; firstSeenUs: number; lastSeenUs: number; flowUid: string | null; communityId: string | null;
  flowUids: string[]; evidence: Record<string, unknown>; suggestedResponse: unknown;
}

export interface CommandView {
  id: string; agentId: string; kind: string; state: string; params: Record<string, unknown>;
  signer: { operator: string; keyId: string; signed: boolean }; submittedBy: string; createdAt: string;
  finishedAt: string | null; result: unknown; error: string | null;
}
