// Test helper: starts fixtures/netns-worker inside a LAN namespace and calls its operations.
import { repoRoot } from '../../../shared/util/repo-paths.js';
import { nodeScriptArgs } from '../../helpers/node-script.js';
import { lanSpawn, type Lan, type Role } from './lan.js';

export class WorkerError extends Error {
  constructor(op: string, message: string, readonly code?: string) {
    super(`${op}: ${message}`);
    this.name = 'WorkerError';
  }
}

export interface Worker {
  role: Role;
  call<T = unknown>(op: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  stderr(): string;
  close(): void;
}

export async function startWorker(lan: Lan, role: Role): Promise<Worker> {
  const child = lanSpawn(lan, role, process.execPath, nodeScriptArgs('./fixtures/netns-worker', import.meta.url), {
    cwd: repoRoot(),
    env: { ...process.env, MEERKAT_LOG_LEVEL: process.env.MEERKAT_LOG_LEVEL ?? 'warn' },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();
  let buf = '';
  let ready!: () => void;
  let failStart!: (e: Error) => void;
  const started = new Promise<void>((res, rej) => { ready = res; failStart = rej; });
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg: { id: number; ok: boolean; result?: unknown; error?: string; code?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        continue;
      }
      if (msg.id === 0) { ready(); continue; }
      const p = pending.get(msg.id);
      if (!p) continue;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new WorkerError(p.op, msg.error ?? 'failed', msg.code));
    }
  });
  child.once('exit', (code) => {
    const e = new Error(`${role} worker exited (${code})\n${stderr}`);
    failStart(e);
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  const timer = setTimeout(() => failStart(new Error(`${role} worker not ready in 20 s\n${stderr}`)), 20_000);
  await started.finally(() => clearTimeout(timer));
  let seq = 1;
  return {
    role,
    call<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
      const id = seq++;
      return new Promise<T>((resolve, reject) => {
        const t = setTimeout(() => { pending.delete(id); reject(new Error(`${role} ${op}: no answer in ${timeoutMs} ms\n${stderr}`)); }, timeoutMs);
        pending.set(id, {
          op,
          resolve: (v) => { clearTimeout(t); resolve(v as T); },
          reject: (e) => { clearTimeout(t); reject(e); },
        });
        child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
      });
    },
    stderr: () => stderr,
    close: () => { child.stdin!.end(); },
  };
}
