// The web console against real processes: `meerkat-collector run` (its console served from the
// built bundle) and a real agent capturing in network namespaces (control-lab.ts), Debian's
// chromium run inside the collector's namespace. A user logs in with the password set by
// `meerkat-collector user passwd`, sees the agent online with its heartbeat, isolates it with a
// command signed in the page with the operator's op.key (the agent verifies it against its
// pinned key and the host really loses its peers), sees the interdiction state change,
// releases it the same way, and asks for the machine inventory (its sensitive half stays sealed).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { labAvailable } from './netns-lab.js';
import { CLI, ControlLab, TCP_PORT, UDP_PORT } from './control-lab.js';
import { skipBecause } from '../helpers/skip.js';

const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'a console password';

describe('web console, end to end (real collector and agent in namespaces, chromium)', function () {
  this.timeout(240_000);
  let L: ControlLab;
  let browser: Browser;

  before(async function () {
    if (!labAvailable()) skipBecause(this, 'needs root, iproute2 network namespaces and nft');
    if (!existsSync(CHROMIUM)) skipBecause(this, `${CHROMIUM} is missing (scripts/setup.sh installs Debian's chromium)`);
    L = new ControlLab();
    // the browser runs where the operators' API listens: the collector namespace's loopback;
    // it starts while the lab is set up (it needs only the namespace)
    const wrapper = join(L.root, 'chromium-in-collector-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${L.lab.ns.collector} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const launched = chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox'] }).then((b) => { browser = b; });
    try {
      await L.setUp();
      const pw = await L.lab.exec('collector', process.execPath, [...CLI.collector, 'user', 'passwd', 'alice', '--password-stdin', '--state-dir', L.collState, '--pki-dir', L.pki], { input: `${PASSWORD}\n` });
      assert.equal(pw.code, 0, pw.stderr);
    } finally {
      await launched; // after() closes it, whatever happened above
    }
  });

  after(async () => {
    await browser?.close();
    if (L?.agent) await L.remote(['release', L.agentId, '--wait', '20']).catch(() => undefined);
    if (L) await L.destroy();
  });

  async function reach(timeoutMs = 1500): Promise<{ tcp: boolean; udp: boolean }> {
    const host = L.lab.peer1.farIp;
    const [tcp, udp] = await Promise.all([
      L.probe.request({ op: 'connect', host, port: TCP_PORT, timeoutMs }),
      L.probe.request({ op: 'udp', host, port: UDP_PORT, timeoutMs }),
    ]);
    return { tcp: tcp.ok, udp: udp.ok };
  }

  async function send(page: Page, kind: string, params: string): Promise<void> {
    await page.getByTestId('command-kind').selectOption(kind);
    await page.getByTestId('command-params').fill(params);
    await page.getByRole('button', { name: 'Sign and send' }).click();
    await page.getByTestId('command-result').filter({ hasText: /queued|delivered|done/ }).waitFor();
  }

  it('logs in, sees the agent online, isolates and releases it with commands signed in the page', async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto('https://127.0.0.1:9470/#/default/agents');
    await page.getByLabel('User').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    const agents = page.getByTestId('agents-table');
    await agents.waitFor();
    await agents.getByRole('row').filter({ hasText: L.agentId }).filter({ hasText: 'online' }).waitFor();
    await page.getByRole('link', { name: L.agentId }).click();
    await page.getByTestId('agent-state').filter({ hasText: 'online since' }).waitFor();
    assert.deepEqual(await reach(), { tcp: true, udp: true });

    await page.getByTestId('op-key').setInputFiles(join(L.operator, 'op.key'));
    await send(page, 'interdiction.isolate', '{}');
    const history = page.getByTestId('commands-table');
    await history.getByRole('row').filter({ hasText: 'interdiction.isolate' }).filter({ hasText: 'done' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await reach(), { tcp: false, udp: false }, 'the host is cut off from its peers');
    // the next heartbeat carries the interdiction state to the page
    await page.locator('.card').filter({ hasText: 'Interdiction' }).getByText('isolate').first().waitFor({ timeout: 20_000 });
    if (process.env.MEERKAT_CONSOLE_SCREENSHOTS) await page.locator('header').scrollIntoViewIfNeeded();
    if (process.env.MEERKAT_CONSOLE_SCREENSHOTS) await page.screenshot({ path: join(process.env.MEERKAT_CONSOLE_SCREENSHOTS, 'console-agent-isolated.png') });

    await send(page, 'interdiction.release', '{}');
    await history.getByRole('row').filter({ hasText: 'interdiction.release' }).filter({ hasText: 'done' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await reach(), { tcp: true, udp: true }, 'reachable again');
    // the machine inventory: its plain half in the page, the sensitive half still sealed
    await send(page, 'inventory', '{}');
    await history.getByRole('row').filter({ hasText: 'inventory' }).filter({ hasText: 'done' }).waitFor({ timeout: 30_000 });
    await page.reload();
    const inv = page.getByTestId('inventory');
    await inv.getByText(/sealed to the owner's box key/).waitFor();
    assert.ok(!(await inv.innerText()).includes(L.hostname), 'the host name is not in the clear');
    // the CLI sees the same commands (one JSON object per line)
    const out = await L.remote(['commands', '--agent', L.agentId, '--json']);
    assert.equal(out.code, 0, out.stderr);
    const cmds = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; state: string; submittedBy: string; signer: { operator: string } });
    const isolate = cmds.find((c) => c.kind === 'interdiction.isolate');
    assert.equal(isolate?.submittedBy, 'alice');
    assert.equal(isolate?.signer.operator, 'alice');
    await ctx.close();
  });
});
