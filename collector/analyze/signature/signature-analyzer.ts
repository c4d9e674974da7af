// Built-in analyzer "machine-signature": each agent's recent time windows, featurized
// exactly as in training, are classified by the trained forest; when `consecutive`
// windows in a row give the agent's own class a probability below `threshold`, the
// machine stopped looking like itself (new software, a different user, an intruder) and
// an alert is raised. Windows close in packet time once the agent's clock has passed
// their end plus `latenessSec` (records arrive when flows end, up to the flow engine's
// timeouts later). Agents the model does not know are not judged.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import type { Analyzer, AnalyzerContext } from '../analyzer.js';
import { AddressScope } from '../address-scope.js';
import { SignatureModel } from './signature-model.js';
import { FEATURE_NAMES, WindowAccumulator } from './window-features.js';

export const signatureConfigSchema = z.object({
  /** model file from `meerkat-collector model train` (without one the analyzer stays idle) */
  model: z.string().min(1).optional(),
  /** own-class probability below which a window does not look like the machine (default 0.25) */
  threshold: z.number().min(0).max(1).default(0.25),
  /** such windows in a row before an alert (default 3) */
  consecutive: z.number().int().min(1).default(3),
  /** records a window needs to be judged (default: the model's minRecords, at least 5) */
  minRecords: z.number().int().min(1).optional(),
  /** how long after a window's end it stays open for late records (default 420 s) */
  latenessSec: z.number().min(0).default(420),
  internalPrefixes: z.array(z.string()).optional(),
}).strict();

interface AgentState {
  classIndex: number;
  /** how often each local address took part in the agent's recent flows (the alert names the most frequent) */
  hosts: Map<string, number>;
  windows: Map<number, WindowAccumulator>;
  /** windows below this index are closed */
  closedBefore: number;
  streak: number;
  recent: Array<{ windowStartUs: number; pSelf: number; predicted: string }>;
}

export class SignatureAnalyzer implements Analyzer<z.output<typeof signatureConfigSchema>> {
  name = 'machine-signature';
  model: SignatureModel | null = null;
  private cfg!: z.output<typeof signatureConfigSchema>;
  private scope = new AddressScope();
  private readonly agents = new Map<string, AgentState | null>();
  private probs = new Float64Array(0);
  private minRecords = 5;
  /** windows judged / records that came after their window closed (tests, status) */
  judged = 0;
  late = 0;

  readonly configSchema = signatureConfigSchema;

  /** config: validated by the host against configSchema */
  setup(config: z.output<typeof signatureConfigSchema>, ctx: AnalyzerContext): void {
    this.cfg = config;
    if (config.internalPrefixes) this.scope = new AddressScope(config.internalPrefixes);
    if (config.model === undefined) {
      ctx.log.info('no model configured: machine-signature is idle (train one with meerkat-collector model train)');
      return;
    }
    const path = isAbsolute(config.model) ? config.model : resolve(ctx.baseDir, config.model);
    this.model = SignatureModel.load(path);
    this.probs = new Float64Array(this.model.classes.length);
    this.minRecords = config.minRecords ?? Math.max(5, this.model.json.minRecords);
  }

  private agent(agentId: string): AgentState | null {
    let a = this.agents.get(agentId);
    if (a === undefined) {
      const k = this.model!.indexOf(agentId);
      a = k < 0 ? null : { classIndex: k, hosts: new Map(), windows: new Map(), closedBefore: -Infinity, streak: 0, recent: [] };
      this.agents.set(agentId, a);
    }
    return a;
  }

  onFlow(rec: FlowRecord, ctx: AnalyzerContext): void {
    if (this.model === null) return;
    const a = this.agent(rec.agent_id);
    if (a === null) return;
    if (rec.record_seq === 0) countHost(a.hosts, ctx.sides(rec).localAddr);
    const idx = Math.floor(rec.start / this.model.json.windowUs);
    if (idx < a.closedBefore) { this.late++; return; }
    let w = a.windows.get(idx);
    if (w === undefined) { w = new WindowAccumulator(rec.agent_id, idx); a.windows.set(idx, w); }
    w.add(rec, this.scope);
  }

  onTick(_nowUs: number, ctx: AnalyzerContext): void {
    if (this.model === null) return;
    const W = this.model.json.windowUs;
    const lateUs = this.cfg.latenessSec * 1e6;
    for (const [agentId, a] of this.agents) {
      if (a === null || a.windows.size === 0) continue;
      const agentNow = ctx.agentNowUs(agentId);
      const ready = [...a.windows.keys()].filter((i) => ctx.finalTick || (i + 1) * W + lateUs <= agentNow).sort((x, y) => x - y);
      for (const idx of ready) {
        const w = a.windows.get(idx)!;
        a.windows.delete(idx);
        a.closedBefore = Math.max(a.closedBefore, idx + 1);
        this.judge(agentId, a, w, ctx);
      }
    }
  }

  private judge(agentId: string, a: AgentState, w: WindowAccumulator, ctx: AnalyzerContext): void {
    const model = this.model!;
    if (w.records < this.minRecords) return;
    this.judged++;
    const features = w.features();
    const p = model.predict(features, this.probs);
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    const pSelf = p[a.classIndex]!;
    const windowStartUs = w.windowIndex * model.json.windowUs;
    a.recent.push({ windowStartUs, pSelf: Math.round(pSelf * 1000) / 1000, predicted: model.classes[best]! });
    if (a.recent.length > this.cfg.consecutive) a.recent.shift();
    if (pSelf >= this.cfg.threshold || best === a.classIndex) {
      a.streak = 0;
      return;
    }
    a.streak++;
    if (a.streak < this.cfg.consecutive) return;
    a.streak = 0;
    const featureValues: Record<string, number> = {};
    FEATURE_NAMES.forEach((n, i) => { featureValues[n] = Math.round(features[i]! * 1000) / 1000; });
    ctx.emit({
      severity: 'medium',
      category: 'signature',
      rule: 'mismatch',
      agentId,
      host: topHost(a.hosts),
      summary: `${agentId} no longer looks like itself: ${this.cfg.consecutive} windows in a row with own-class probability ` +
        `< ${this.cfg.threshold} (last ${pSelf.toFixed(2)}, looks most like ${model.classes[best]})`,
      evidence: {
        // how unlike itself the machine looks (1 - own-class probability): responses match on `score`
        score: Math.round((1 - pSelf) * 1000) / 1000,
        windowSec: model.json.windowUs / 1e6, recent: [...a.recent], lastFeatures: featureValues, records: w.records,
        modelCreatedUs: model.json.createdUs, holdoutAccuracy: model.json.holdout.accuracy,
      },
      tsUs: windowStartUs,
    });
  }
}

const MAX_HOSTS = 8;

/** Counts a local address among a few (the least counted one makes room; counts halve now and then). */
function countHost(hosts: Map<string, number>, addr: string): void {
  const n = hosts.get(addr);
  if (n !== undefined) {
    hosts.set(addr, n + 1);
    if (n + 1 >= 1 << 20) for (const [k, v] of hosts) hosts.set(k, v >> 1);
    return;
  }
  if (hosts.size >= MAX_HOSTS) {
    let low = '';
    let lowN = Infinity;
    for (const [k, v] of hosts) if (v < lowN) { low = k; lowN = v; }
    hosts.delete(low);
  }
  hosts.set(addr, 1);
}

function topHost(hosts: Map<string, number>): string {
  let best = '';
  let bestN = -1;
  for (const [k, v] of hosts) if (v > bestN) { best = k; bestN = v; }
  return best;
}
