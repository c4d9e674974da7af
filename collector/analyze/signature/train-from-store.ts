// Windows of every agent read back from the flow store, for `meerkat-collector model train/eval`.
import type { FlowStore } from '../../../shared/store/flow-store.js';
import { AddressScope } from '../address-scope.js';
import { WindowSet, type WindowAccumulator } from './window-features.js';

export interface StoreWindowsOptions {
  windowUs: number;
  minRecords?: number;
  since?: number;
  until?: number;
  agentId?: string;
  internalPrefixes?: readonly string[];
}

export function windowsFromStore(store: FlowStore, opts: StoreWindowsOptions): { windows: WindowAccumulator[]; records: number } {
  const set = new WindowSet(opts.windowUs, new AddressScope(opts.internalPrefixes));
  let records = 0;
  for (const rec of store.iterateFlows({
    order: 'asc',
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
    ...(opts.agentId !== undefined ? { agentId: opts.agentId } : {}),
  })) {
    set.add(rec);
    records++;
  }
  return { windows: set.list(opts.minRecords ?? 1), records };
}
