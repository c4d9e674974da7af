// docs/getting-started.md, run as written: every fenced block marked `sh getting-started` is
// taken from the page and run with bash, in order, with the real programs (the console and the
// collector from dist/, the agent as it ships), so the page cannot drift from them. The info
// string says where a block runs and how:
//   collector | owner | operator   the collector's namespace (192.0.2.10, the page's address)
//   endpoint                       the endpoint's namespace (192.0.2.20), joined by a veth pair
//   background ready="CMD"         started and left running; CMD (same place) must succeed first
//   expect="RE"                    run again (up to 90 s) until its output matches RE
// Variables a block sets (TOKEN=...) are seen by the later ones. What the page leaves to the
// machine is set here: HOME, the configuration paths (MEERKAT_COLLECTOR_CONFIG,
// MEERKAT_STATE_DIR, MEERKAT_AGENT_CONFIG) point into a temporary directory, the agent's
// configuration there closes dumps every 5 s (the default is 2 minutes), and a small HTTP
// client on the endpoint gives it traffic, as a real host has.
// Then what the page's state must tell truthfully: every collector log line is one JSON object
// with each key once and the agent's connect and disconnect are logged; /metrics has the flow,
// alert, command and analyzer families; an idle agent's time-limited dump closes on time and its
// flows follow within seconds; a stopped agent says so (`meerkat-agent status`, `meerkat agents`).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { createNetnsPair, destroyNetnsPair, netnsAvailable, netnsExec, netnsSpawn, runIp, type NetnsPair } from '../helpers/netns.js';
import { collectorProgramArgs, shippedAgentLauncher } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';
import { strictLogLines } from '../helpers/json-lines.js';
import { repoRoot } from '../../shared/util/repo-paths.js';

export interface PageBlock {
  where: 'collector' | 'owner' | 'operator' | 'endpoint';
  background: boolean;
  ready?: string;
  expect?: string;
  script: string;
  line: number;
}

/** The runnable blocks of a page: fences whose info string starts with "sh getting-started". */
export function pageBlocks(markdown: string): PageBlock[] {
  const blocks: PageBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```sh getting-started (collector|owner|operator|endpoint)(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const attrs = m[2]!;
    const body: string[] = [];
    const start = i + 1;
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    const ready = /ready="([^"]*)"/.exec(attrs)?.[1];
    const expect = /expect="([^"]*)"/.exec(attrs)?.[1];
    blocks.push({ where: m[1] as PageBlock['where'], background: /\bbackground\b/.test(attrs), ...(ready ? { ready } : {}), ...(expect ? { expect } : {}), script: body.join('\n'), line: start });
  }
  return blocks;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const COLLECTOR_IP = '192.0.2.10';
const ENDPOINT_IP = '192.0.2.20';
const DUMP_SECONDS = 5;

describe('docs/getting-started.md, run as written', function () {
  this.timeout(600_000);
  let pair: NetnsPair;
  let dir: string;
  let env: Record<string, string>;
  const running: Array<{ what: string; child: ChildProcess; out: { text: string } }> = [];
  let httpServer: ChildProcess | undefined;
  let traffic: ChildProcess | undefined;
  let blocks: PageBlock[];

  before(function () {
    if (!netnsAvailable()) skipBecause(this, 'needs root and iproute2 for network namespaces');
    if (!existsSync(shippedAgentLauncher())) skipBecause(this, 'needs the built agent bundle (npm run build)');
    blocks = pageBlocks(readFileSync(join(repoRoot(), 'docs', 'getting-started.md'), 'utf8'));
    dir = mkdtempSync(join(tmpdir(), 'meerkat-getting-started-'));
    pair = createNetnsPair();
    runIp(['-n', pair.nsA, 'addr', 'add', `${COLLECTOR_IP}/24`, 'dev', pair.ifA]);
    runIp(['-n', pair.nsB, 'addr', 'add', `${ENDPOINT_IP}/24`, 'dev', pair.ifB]);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const root = repoRoot();
    const wrappers: Record<string, string> = {
      'meerkat': `exec "${process.execPath}" "${join(root, 'dist', 'console', 'cli.js')}" "$@"`,
      // what the package's bin runs: the bundle
      'meerkat-collector': `exec "${process.execPath}" ${collectorProgramArgs().map((a) => `"${a}"`).join(' ')} "$@"`,
      'meerkat-agent': `exec "${shippedAgentLauncher()}" "$@"`,
    };
    for (const [name, line] of Object.entries(wrappers)) {
      writeFileSync(join(bin, name), `#!/bin/sh\n${line}\n`);
      chmodSync(join(bin, name), 0o755);
    }
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ stateDir: join(dir, 'agent-state'), dump: { maxSeconds: DUMP_SECONDS } }));
    mkdirSync(join(dir, 'work'));
    env = {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: join(dir, 'home'),
      MEERKAT_COLLECTOR_CONFIG: join(dir, 'etc', 'collector.json'),
      MEERKAT_STATE_DIR: join(dir, 'collector-state'),
      MEERKAT_AGENT_CONFIG: join(dir, 'agent.json'),
      MEERKAT_NODE: process.execPath,
      MEERKAT_LOG_LEVEL: 'info',
    };
    // a web server beside the collector and an endpoint that uses it: the traffic the agent captures
    httpServer = netnsSpawn(pair.nsA, process.execPath, ['-e', `require('http').createServer((q,s)=>s.end('ok')).listen(8080, '${COLLECTOR_IP}')`]);
  });

  after(async () => {
    traffic?.kill('SIGKILL');
    httpServer?.kill('SIGKILL');
    for (const r of running.reverse()) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    if (pair) destroyNetnsPair(pair);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const nsOf = (where: PageBlock['where']): string => (where === 'endpoint' ? pair.nsB : pair.nsA);

  /** bash running `script` with the variables earlier blocks set; its own new variables are saved for the next. */
  function bashArgs(script: string, save: boolean): string[] {
    const vars = join(dir, 'vars.sh');
    const prologue = `set -eo pipefail\ncd ${JSON.stringify(join(dir, 'work'))}\nif [ -f ${vars} ]; then . ${vars}; fi\n__before=" $(compgen -v | tr '\\n' ' ') "\n`;
    const epilogue = save ? `\nfor __v in $(compgen -v); do case "$__before" in *" $__v "*) ;; *) case "$__v" in [A-Z]*) printf 'export %s=%q\\n' "$__v" "\${!__v}" >> ${vars};; esac;; esac; done\n` : '';
    return ['-c', prologue + script + epilogue];
  }

  function runBlock(b: PageBlock, script = b.script): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return netnsExec(nsOf(b.where), 'env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'bash', ...bashArgs(script, true)], { timeoutMs: 120_000 });
  }

  function startBackground(b: PageBlock): { child: ChildProcess; out: { text: string } } {
    const child = netnsSpawn(nsOf(b.where), 'env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'bash', ...bashArgs(`exec ${b.script.trim()}`, false)]);
    const out = { text: '' };
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { out.text += s; });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { out.text += s; });
    running.push({ what: b.script.trim(), child, out });
    return { child, out };
  }

  const timings: Record<string, number> = {};
  let agentStartedAt = 0;

  it('every block of the page runs and does what the page says', async () => {
    assert.ok(blocks.length >= 8, `found ${blocks.length} runnable blocks`);
    for (const b of blocks) {
      const where = `docs/getting-started.md:${b.line} (${b.where})`;
      if (b.background) {
        const { child, out } = startBackground(b);
        if (/meerkat-agent run/.test(b.script)) agentStartedAt = Date.now();
        const until = Date.now() + 60_000;
        for (;;) {
          assert.equal(child.exitCode, null, `${where}: \`${b.script}\` exited (${child.exitCode}):\n${out.text.slice(-3000)}`);
          const r = await runBlock({ ...b, background: false }, b.ready!);
          if (r.code === 0) break;
          assert.ok(Date.now() < until, `${where}: not ready (${b.ready}): ${r.stdout}${r.stderr}\n${out.text.slice(-3000)}`);
          await sleep(200); // each look is a program start already
        }
        if (/meerkat-agent run/.test(b.script)) {
          // the endpoint's own traffic from now on: one request a second
          traffic = netnsSpawn(pair.nsB, process.execPath, ['-e', `setInterval(()=>require('http').get({host:'${COLLECTOR_IP}',port:8080,agent:false},r=>r.resume()).on('error',()=>{}),1000)`]);
        }
        continue;
      }
      if (b.expect) {
        const re = new RegExp(b.expect);
        const started = Date.now();
        let last = '';
        for (;;) {
          const r = await runBlock(b);
          last = `${r.stdout}${r.stderr}`;
          if (r.code === 0 && re.test(r.stdout)) break;
          assert.ok(Date.now() - started < 90_000, `${where}: \`${b.script}\` never printed /${b.expect}/; last:\n${last}`);
          await sleep(250); // each look is a program start already
        }
        timings[b.script.trim()] = Date.now() - agentStartedAt;
        continue;
      }
      const r = await runBlock(b);
      assert.equal(r.code, 0, `${where}: \`${b.script}\` failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    // the first flows of a new agent: within two dump intervals and the close delay of its first connections
    const flowsAfter = Object.entries(timings).find(([s]) => s.startsWith('meerkat flows'))![1];
    assert.ok(flowsAfter < (2 * DUMP_SECONDS + 10) * 1000, `first flows ${flowsAfter} ms after the agent started`);
  });

  const collector = (): { child: ChildProcess; out: { text: string } } => running.find((r) => r.what === 'meerkat-collector run')!;
  const agent = (): { child: ChildProcess; out: { text: string } } => running.find((r) => r.what === 'meerkat-agent run')!;

  it('/metrics carries the flow, alert, command and analyzer families', async () => {
    const r = await netnsExec(pair.nsA, 'curl', ['-sf', 'http://127.0.0.1:9469/metrics']);
    assert.equal(r.code, 0, r.stderr);
    const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(r.stdout)?.[1] ?? NaN);
    assert.ok(value('meerkat_collector_flow_records_total') > 0, 'flow records counted');
    for (const family of ['meerkat_collector_alerts', 'meerkat_collector_commands', 'meerkat_collector_analyzer_calls_total', 'meerkat_collector_analyzer_hits_total', 'meerkat_collector_alert_hits_total']) {
      assert.match(r.stdout, new RegExp(`^# TYPE ${family} `, 'm'), family);
    }
    assert.ok(value('meerkat_collector_analyzer_calls_total') > 0 || /meerkat_collector_analyzer_calls_total\{analyzer="[^"]+"\} [1-9]/.test(r.stdout));
  });

  it('an idle agent: a time-limited dump closes on time, and its flows follow within seconds', async () => {
    traffic?.kill('SIGKILL');
    await sleep((DUMP_SECONDS + 3) * 1000);
    const db = new Database(join(env.MEERKAT_STATE_DIR!, 'orgs', 'default', 'meerkat.db'), { readonly: true });
    try {
      const flowsBefore = (db.prepare('SELECT COUNT(*) AS n FROM flows').get() as { n: number }).n;
      const t0 = Date.now();
      const one = await netnsExec(pair.nsB, 'curl', ['-s', '-o', '/dev/null', `http://${COLLECTOR_IP}:8080/`]);
      assert.equal(one.code, 0);
      let dumpAt = 0;
      let flowsAt = 0;
      while (Date.now() - t0 < 60_000 && (!dumpAt || !flowsAt)) {
        const d = db.prepare('SELECT received_us FROM dumps WHERE first_ts_us >= ? ORDER BY received_us LIMIT 1').get((t0 - 500) * 1000) as { received_us: number } | undefined;
        if (d && !dumpAt) dumpAt = d.received_us / 1000;
        if (!flowsAt && (db.prepare('SELECT COUNT(*) AS n FROM flows').get() as { n: number }).n > flowsBefore) flowsAt = Date.now();
        await sleep(250);
      }
      assert.ok(dumpAt, 'the dump with the one connection arrived');
      assert.ok(dumpAt - t0 < (DUMP_SECONDS + 3) * 1000, `dump stored ${dumpAt - t0} ms after the packets (dumps close after ${DUMP_SECONDS} s)`);
      assert.ok(flowsAt, 'its flow was written');
      // Zeek's close delay (5 s of packet time after the connection closed) comes on top
      assert.ok(flowsAt - t0 < (DUMP_SECONDS + 5 + 6) * 1000, `flow written ${flowsAt - t0} ms after the packets`);
    } finally {
      db.close();
    }
  });

  it('a stopped agent says so: meerkat-agent status and meerkat agents', async () => {
    const a = agent();
    a.child.kill('SIGTERM');
    await new Promise<void>((r) => (a.child.exitCode !== null ? r() : a.child.once('exit', () => r())));
    assert.equal(a.child.exitCode, 0, a.out.text.slice(-2000));
    const status = await netnsExec(pair.nsB, 'env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'meerkat-agent', 'status']);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /NOT RUNNING \(stopped at /);
    const agents = await netnsExec(pair.nsA, 'env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'meerkat', 'agents']);
    assert.equal(agents.code, 0, agents.stderr);
    assert.match(agents.stdout, / offline /);
    assert.doesNotMatch(agents.stdout, /capture: running/);
    assert.match(agents.stdout, /last known \(heartbeat/);
  });

  it('the collector logged the agent coming and going, every line one JSON object with each key once', async () => {
    const c = collector();
    c.child.kill('SIGTERM');
    await new Promise<void>((r) => (c.child.exitCode !== null ? r() : c.child.once('exit', () => r())));
    assert.equal(c.child.exitCode, 0, c.out.text.slice(-2000));
    const { lines, other } = strictLogLines(c.out.text);
    assert.deepEqual(other, []);
    const connected = lines.filter((l) => l.msg === 'agent connected');
    const disconnected = lines.filter((l) => l.msg === 'agent disconnected');
    assert.ok(connected.length >= 1 && typeof connected[0]!.agentId === 'string');
    assert.ok(disconnected.some((l) => l.agentId === connected[0]!.agentId && typeof l.connectedSec === 'number'));
    assert.ok(!lines.some((l) => JSON.stringify(l).includes(ENDPOINT_IP) && (l.msg === 'agent connected' || l.msg === 'agent disconnected')), 'no endpoint address in those lines');
    strictLogLines(agent().out.text);
  });
});
