// An analyzer worker thread: one AnalyzerHost with a group of analyzers (the built-ins, or
// one user module), fed flow batches by the collector's main thread (analyzer-pool.ts). The
// host publishes every call in the shared call state instead of timing it; the main thread
// watches that and terminates this thread if a call runs past its hard limit. Alerts go back
// to the main thread with the answer to each batch (the alert store, the outputs and the
// response engine, with its signing key, stay there).
//
// Messages in:  {type:'batch', batch} | {type:'slow', slot, hook, ms} | {type:'finish'}
// Messages out: {type:'ready', load, status, alerts} | {type:'done', alerts, status?} |
//               {type:'status', alerts, status} | {type:'finished', alerts, status}
// The status (calls, failures, enabled) goes with a batch's answer at most every 250 ms, and
// once more when the worker goes idle, so the main thread never keeps a stale one.
import { parentPort, workerData } from 'node:worker_threads';
import { logger, setLogLevel } from '../../shared/log.js';
import type { EmittedAlert } from '../../shared/alerts/alert-record.js';
import { AnalyzerHost, CALL_STATE, type AnalyzerBudget, type HookName } from './analyzer-host.js';
import type { PlannedAnalyzer } from './analysis-config.js';
import { loadAnalyzers } from './load-analyzers.js';
import { FlowBatchDecoder, type FlowBatch } from './flow-batch-codec.js';

export interface AnalyzerWorkerData {
  group: string;
  plan: PlannedAnalyzer[];
  callState: Int32Array;
  logLevel: string;
  baseDir: string;
  tickIntervalUs: number;
  budget: AnalyzerBudget;
  internalPrefixes?: string[];
  hostAddresses: Record<string, string[]>;
}

export type ToWorker =
  | { type: 'batch'; batch: FlowBatch }
  | { type: 'slow'; slot: number; hook: HookName; ms: number }
  | { type: 'finish' };

export type FromWorker =
  | { type: 'ready'; load: { loaded: string[]; failed: Array<{ name: string; error: string }> }; status: ReturnType<AnalyzerHost['status']>; alerts: EmittedAlert[] }
  | { type: 'done'; alerts: EmittedAlert[]; status?: ReturnType<AnalyzerHost['status']> }
  | { type: 'status'; alerts: EmittedAlert[]; status: ReturnType<AnalyzerHost['status']> }
  | { type: 'finished'; alerts: EmittedAlert[]; status: ReturnType<AnalyzerHost['status']> };

const STATUS_EVERY_MS = 250;

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('analyzer-worker.ts runs as a worker thread (see analyzer-pool.ts)');
  const d = workerData as AnalyzerWorkerData;
  setLogLevel(d.logLevel);
  const cs = d.callState;
  let alerts: EmittedAlert[] = [];
  const host = new AnalyzerHost({
    sink: (a) => { alerts.push(a); },
    tickIntervalUs: d.tickIntervalUs,
    budget: d.budget,
    ...(d.internalPrefixes ? { internalPrefixes: d.internalPrefixes } : {}),
    hosts: { pinned: d.hostAddresses },
    baseDir: d.baseDir,
    log: logger('analyze').child({ worker: d.group }),
    callState: cs,
  });
  const takeAlerts = (): EmittedAlert[] => {
    const a = alerts;
    alerts = [];
    return a;
  };
  const decoder = new FlowBatchDecoder();
  // batches that arrive while the analyzers load wait here
  const early: ToWorker[] = [];
  let ready = false;
  let lastStatus = 0;
  let trailing: NodeJS.Timeout | null = null;
  const sendStatusLater = (): void => {
    if (trailing !== null) return;
    trailing = setTimeout(() => {
      trailing = null;
      lastStatus = Date.now();
      port.postMessage({ type: 'status', alerts: takeAlerts(), status: host.status() } satisfies FromWorker);
    }, STATUS_EVERY_MS);
  };

  const onMessage = (m: ToWorker): void => {
    if (!ready) {
      early.push(m);
      return;
    }
    switch (m.type) {
      case 'batch': {
        decoder.replay(m.batch, (r) => host.onFlow(r), (e) => {
          if (e.kind === 'advance') host.advanceAgent(e.agentId, e.tUs);
          else if (e.kind === 'app') host.onApp(e.app);
          else host.onDnsPayload(e.payload, { agentId: e.agentId, tsUs: e.tsUs, client: e.client, server: e.server, clientAnon: e.clientAnon, tcp: e.tcp });
        });
        Atomics.add(cs, CALL_STATE.batchesDone, 1);
        Atomics.notify(cs, CALL_STATE.batchesDone);
        const now = Date.now();
        const out: FromWorker = { type: 'done', alerts: takeAlerts() };
        if (now - lastStatus >= STATUS_EVERY_MS) {
          out.status = host.status();
          lastStatus = now;
        } else {
          sendStatusLater();
        }
        port.postMessage(out);
        break;
      }
      case 'slow':
        host.reportSlowCall(m.slot, m.hook, m.ms);
        sendStatusLater();
        break;
      case 'finish':
        if (trailing !== null) clearTimeout(trailing);
        host.finish();
        host.close();
        port.postMessage({ type: 'finished', alerts: takeAlerts(), status: host.status() } satisfies FromWorker);
        port.close();
        break;
    }
  };
  port.on('message', onMessage);
  const load = await loadAnalyzers(host, d.plan);
  ready = true;
  port.postMessage({ type: 'ready', load, status: host.status(), alerts: takeAlerts() } satisfies FromWorker);
  for (const m of early.splice(0)) onMessage(m);
}

await main();
