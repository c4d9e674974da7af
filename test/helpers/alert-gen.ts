// An emitted alert with defaults, for the alert store / output tests.
import type { EmittedAlert } from '../../shared/alerts/alert-record.js';
import { T0 } from '../collector/analyze/flow-gen.js';

export function alert(p: Partial<EmittedAlert> = {}): EmittedAlert {
  return {
    analyzer: 'scan', severity: 'medium', category: 'scan', rule: 'port-scan', agentId: 'agent-a', host: '10.1.2.3', peer: '198.51.100.7',
    summary: 'a scan', evidence: { n: 1 }, tsUs: T0, flowUid: 'F1', ...p,
  };
}
