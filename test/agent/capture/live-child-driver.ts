// Test helper: starts test/agent/capture/live-capture-child.ts inside a network namespace and talks
// to it over stdin/stdout (READY, flush, stop -> STATS).
import type { ChildProcess } from 'node:child_process';
import { repoRoot } from '../../../shared/util/repo-paths.js';
import type { LiveCaptureHealth } from '../../../agent/pipeline/live-pipeline.js';
import type { CaptureSessionStats } from '../../../agent/capture/capture-session.js';
import type { LiveChildConfig } from './live-capture-child.js';
import { netnsSpawn } from '../../helpers/netns.js';
import { nodeScriptArgs } from '../../helpers/node-script.js';

export interface CaptureChildReady {
  hostAddresses: string[];
  sessions: CaptureSessionStats[];
}

export interface CaptureChild {
  child: ChildProcess;
  ready: CaptureChildReady;
  /** what the child logged so far (pino JSON lines) */
  stderr(): string;
  flush(): Promise<void>;
  /** current stats without stopping */
  stats(): Promise<LiveCaptureHealth>;
  /** asks the child to busy-wait ms; resolves when it has STARTED blocking, and the promise `done` when it is back */
  block(ms: number): Promise<{ done: Promise<void> }>;
  /** sets the global payload snap length; resolves with the capture snap length now in force */
  snap(n: number): Promise<number>;
  /** reports a shipper connection to ADDR:PORT (LiveCapture.excludeConnection) */
  exclude(address: string, port: number): Promise<void>;
  stop(): Promise<LiveCaptureHealth>;
}

/** The child next to this file: the .ts source under tsx, the compiled .js under dist/. */
function childCommand(): string[] {
  return nodeScriptArgs('./live-capture-child', import.meta.url);
}

export async function startCaptureChild(ns: string, cfg: LiveChildConfig, timeoutMs = 30_000): Promise<CaptureChild> {
  const child = netnsSpawn(ns, process.execPath, [...childCommand(), JSON.stringify(cfg)], { cwd: repoRoot() });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const waiters: { prefix: string; resolve: (rest: string) => void }[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.findIndex((x) => line.startsWith(x.prefix));
      if (w >= 0) waiters.splice(w, 1)[0]!.resolve(line.slice(line.indexOf(' ') + 1));
    }
  });
  const waitFor = (prefix: string): Promise<string> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`capture child: no ${prefix} within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    const onExit = (code: number | null): void => { clearTimeout(timer); reject(new Error(`capture child exited (${code}) before ${prefix}\n${stderr}`)); };
    child.once('exit', onExit);
    waiters.push({ prefix, resolve: (rest) => { clearTimeout(timer); child.removeListener('exit', onExit); resolve(rest); } });
  });
  const ready = JSON.parse(await waitFor('READY')) as CaptureChildReady;
  return {
    child,
    ready,
    stderr: () => stderr,
    flush: async () => {
      const done = waitFor('FLUSHED');
      child.stdin!.write('flush\n');
      await done;
    },
    stats: async () => {
      const stats = waitFor('STATS');
      child.stdin!.write('stats\n');
      return JSON.parse(await stats) as LiveCaptureHealth;
    },
    block: async (ms: number) => {
      const started = waitFor('BLOCKING');
      const done = waitFor('BLOCKED').then(() => undefined);
      child.stdin!.write(`block ${ms}\n`);
      await started;
      return { done };
    },
    snap: async (n: number) => {
      const done = waitFor('SNAP');
      child.stdin!.write(`snap ${n}\n`);
      return Number(await done);
    },
    exclude: async (address: string, port: number) => {
      const done = waitFor('EXCLUDED');
      child.stdin!.write(`exclude ${address} ${port}\n`);
      await done;
    },
    stop: async () => {
      const stats = waitFor('STATS');
      child.stdin!.write('stop\n');
      return JSON.parse(await stats) as LiveCaptureHealth;
    },
  };
}
