// The web console in a real browser (Debian's chromium driven by playwright-core, headless)
// against the collector's real operators' API (HTTPS, collector.db users with scrypt
// passwords, the organisations' own databases) holding flows ingested from dumps that the agent's
// replay pipeline made of reference captures with an owner key: log in; a wrong password
// refused, then the name locked; the flows page shows the flows and a flow's packets download as
// pcapng; the owner key loaded in the page shows the real addresses and no request carries it;
// the owner's box.key loaded in the page opens an agent's sealed inventory, and no request carries it;
// name pseudonyms turned back into names with the owner key; a viewer cannot send a command (page and API); a member of one
// organisation cannot read another by editing the URL; requests without the CSRF token or
// without a session are refused; a responder acknowledges an alert and sends a browser-signed
// command that the collector queues with the signer's key id; the Feeds page lists the
// organisation's threat-intel feeds with their counts and a failed feed's error (as text).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { OrgApiRig } from '../helpers/org-api-rig.js';
import { ThreatWatchlist } from '../../collector/respond/threat-watchlist.js';
import { skipBecause } from '../helpers/skip.js';
import { importDumps, makeDumps, refPcap } from '../shared/pcap-export/export-fixtures.js';
import { orgPaths } from '../../collector/orgs/org-paths.js';
import { initOwnerKeys, loadAnonKey, loadBoxPublicKey, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { buildInventoryReport, collectInventory } from '../../agent/control/inventory.js';
import { initOperatorKeys } from '../../shared/commands/operator-keys.js';
import { SqliteAlertStore } from '../../shared/alerts/sqlite-alert-store.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { anonymizeText } from '../../shared/anonymize/pseudonym-text.js';
import { nameKeys } from '../../shared/anonymize/name-token.js';
import { sealName, DEFAULT_INTERNAL_SUFFIXES } from '../../shared/anonymize/name-pseudonymizer.js';

const CHROMIUM = '/usr/bin/chromium';
/** MEERKAT_CONSOLE_SCREENSHOTS=docs/img: the pages as the tests see them, for docs/console.md */
const SHOTS = process.env.MEERKAT_CONSOLE_SCREENSHOTS;
const AGENT = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
const AGENT2 = '7c2d8e90-1f3a-4b5c-9d6e-7f8a9b0c1d2e';
const PASSWORD = 'correct horse battery';

describe('web console in a real browser', function () {
  this.timeout(120_000);
  let rig: OrgApiRig;
  let browser: Browser;
  let base: string;
  let keysDir: string;
  let anonKeyB64: string;
  let feedDir: string;

  before(async function () {
    if (!existsSync(CHROMIUM)) skipBecause(this, `${CHROMIUM} is missing (scripts/setup.sh installs Debian's chromium)`);
    // the default organisation's threat intel: a feed file, and a feed whose file is missing (acme has none)
    feedDir = mkdtempSync(join(tmpdir(), 'meerkat-console-feeds-'));
    writeFileSync(join(feedDir, 'drop.txt'), '198.51.100.0/24\n203.0.113.7\n192.0.2.0/25\nevil.example\nt13d1516h2_8daaf6152771_b186095e22b6\n');
    const watchlist = new ThreatWatchlist([
      { name: 'drop', path: join(feedDir, 'drop.txt'), spec: { format: 'plain' }, severity: 'high', response: 'capture-peer', durationSec: 300 },
      { name: '<b>gone</b>', path: join(feedDir, 'gone.csv'), spec: { format: 'csv', column: 1 }, severity: 'low', response: 'none', durationSec: 0 },
    ]);
    rig = await new OrgApiRig().start({ orgs: ['acme'], console: { throttle: { maxUserFailures: 3 } }, watchlists: { default: watchlist } });
    base = `https://127.0.0.1:${rig.api.port}`;
    const users = rig.state.users;
    await users.add({ name: 'alice', password: PASSWORD });
    users.grant('alice', 'default', 'responder');
    users.grant('alice', 'acme', 'viewer');
    await users.add({ name: 'victor', password: PASSWORD });
    users.grant('victor', 'default', 'viewer');
    await users.add({ name: 'bob', password: PASSWORD });
    users.grant('bob', 'acme', 'admin');
    await users.add({ name: 'target', password: PASSWORD });
    users.grant('target', 'default', 'viewer');
    rig.state.orgs.assignAgent(AGENT, 'default');
    rig.state.orgs.assignAgent(AGENT2, 'default');
    keysDir = mkdtempSync(join(tmpdir(), 'meerkat-console-keys-'));
    initOwnerKeys(keysDir);
    initOperatorKeys(keysDir, { name: 'alice' });
    const anonKey = loadAnonKey(join(keysDir, ANON_KEY_FILE));
    anonKeyB64 = Buffer.from(anonKey).toString('base64');
    // dumps as an agent makes them (its replay pipeline, internal addresses pseudonymized with the owner key)
    const dumps: string[] = [];
    // one agent per capture: each replay numbers its dumps from 1 (the collector keeps one dump per agent and sequence)
    for (const [pcap, agentId] of [['flowtest/icmp.pcap', AGENT], ['flowtest/tls12.pcap', AGENT2]] as const) {
      const made = await makeDumps(refPcap(pcap), join(keysDir, 'dumps', pcap.replace(/\W/g, '-')), { keyFile: join(keysDir, ANON_KEY_FILE), snapLen: 65535, agentId });
      dumps.push(...made.dumps.map((d) => d.path));
    }
    assert.ok(importDumps(orgPaths(rig.dir, 'default').db, dumps).length > 0, 'flows ingested from the dumps');
    // acme's flow store exists (as the organisation's runtime makes it) and is empty
    new SqliteFlowStore(orgPaths(rig.dir, 'acme').db).close();
    const alerts = new SqliteAlertStore(orgPaths(rig.dir, 'default').db);
    const ev = { analyzer: 'scan', severity: 'high' as const, category: 'scan', rule: 'port-scan', agentId: AGENT, peer: '174.137.42.77', summary: 'a scan from the test', evidence: { ports: 40 }, tsUs: 1_371_631_556_838_904 };
    alerts.record([{ key: 'k1', latest: ev, count: 1, firstTsUs: ev.tsUs, lastTsUs: ev.tsUs, maxSeverity: 'high', flowUids: [] }]);
    alerts.close();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    await rig?.close();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
    if (feedDir) rmSync(feedDir, { recursive: true, force: true });
  });

  async function shot(page: Page, name: string): Promise<void> {
    if (!SHOTS) return;
    await page.waitForTimeout(500); // charts draw on the next frame
    await page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: false });
  }

  async function newPage(): Promise<{ ctx: BrowserContext; page: Page; requests: Request[] }> {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    const requests: Request[] = [];
    page.on('request', (r) => requests.push(r));
    return { ctx, page, requests };
  }

  async function logIn(page: Page, user: string, password = PASSWORD, at = '#/default/overview'): Promise<void> {
    await page.goto(`${base}/${at}`);
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  /** fetch() from inside the page (its cookie, its origin), optionally with the page's CSRF token. */
  async function pageFetch(page: Page, method: string, path: string, o: { csrf?: 'session' | 'none' | 'wrong'; body?: unknown } = {}): Promise<{ status: number; body: { error?: string; message?: string } }> {
    return page.evaluate(async ({ method, path, csrf, body }) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (csrf !== 'none') {
        const s = await (await fetch('/v1/session')).json() as { csrf: string };
        headers['x-csrf-token'] = csrf === 'wrong' ? s.csrf.slice(1) + 'x' : s.csrf;
      }
      const r = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: r.status, body: await r.json() as { error?: string; message?: string } };
    }, { method, path, csrf: o.csrf ?? 'session', body: o.body });
  }

  it('serves the page with a strict CSP and security headers; the session cookie is HttpOnly, Secure, SameSite=Strict', async () => {
    const { ctx, page } = await newPage();
    const res = await page.goto(`${base}/`);
    const h = res!.headers();
    assert.match(h['content-security-policy']!, /script-src 'self'/);
    assert.ok(!/unsafe-inline|unsafe-eval/.test(h['content-security-policy']!));
    assert.match(h['content-security-policy']!, /frame-ancestors 'none'/);
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['x-frame-options'], 'DENY');
    await logIn(page, 'alice');
    await page.getByTestId('whoami').waitFor();
    assert.match(await page.getByTestId('whoami').innerText(), /alice · responder/);
    await page.getByTestId('agents-online').waitFor();
    await shot(page, 'overview');
    const c = (await ctx.cookies()).find((x) => x.name === 'meerkat_session')!;
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie), '', 'the page script cannot read the session cookie');
    await ctx.close();
  });

  it('refuses a wrong password, then locks the name (even for the right password), and audits it', async () => {
    const { ctx, page } = await newPage();
    for (let i = 0; i < 3; i++) {
      await logIn(page, 'target', 'wrong password!');
      await page.getByTestId('login-error').waitFor();
      assert.match(await page.getByTestId('login-error').innerText(), /wrong user name or password/);
    }
    await logIn(page, 'target');
    await page.getByTestId('login-error').filter({ hasText: /locked/ }).waitFor();
    assert.equal(await page.getByTestId('whoami').count(), 0, 'not logged in');
    const audit = rig.state.audit.list({}).filter((e) => e.action === 'console.login' && e.actor === 'unauthenticated:target');
    assert.deepEqual(audit.map((e) => e.outcome), ['refused:bad-credentials', 'refused:bad-credentials', 'refused:bad-credentials', 'refused:user-locked']);
    await ctx.close();
  });

  it('shows the flows imported from real captures, pages them, and the owner sees real addresses without sending the key', async () => {
    const { ctx, page, requests } = await newPage();
    await logIn(page, 'alice');
    await page.getByTestId('whoami').waitFor();
    await page.getByRole('link', { name: 'Flows' }).click();
    const table = page.getByTestId('flows-table');
    await table.waitFor();
    const pseudo = anonymizeText({ anonKey: loadAnonKey(join(keysDir, ANON_KEY_FILE)) }, '192.168.158.139');
    assert.ok((await table.innerText()).includes(`${pseudo}*`), 'the pseudonym of the ICMP host is listed');
    assert.ok(!(await table.innerText()).includes('192.168.158.139'), 'no real internal address without the owner key');
    assert.ok((await table.innerText()).includes('174.137.42.77'), 'the external peer in the clear');
    // the owner's key, loaded in the page
    await page.getByTestId('owner-key').setInputFiles(join(keysDir, ANON_KEY_FILE));
    await page.getByTestId('owner-key-state').waitFor();
    await table.getByText('= 192.168.158.139').first().waitFor();
    await table.getByText('= 10.100.50.48').first().waitFor(); // the TLS client too
    await shot(page, 'flows-owner');
    // the flow's packets as pcapng, through the page's link (the collector's packet export)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'pcapng' }).first().click()]);
    const file = join(keysDir, 'flow.pcapng');
    await download.saveAs(file);
    assert.equal(readFileSync(file).readUInt32LE(0), 0x0a0d0d0a, 'a pcapng section header block');
    // filter by a real address: turned into its pseudonym in the page
    await page.getByLabel('address or CIDR').fill('192.168.158.0/24');
    await page.getByLabel('address is a real (owner) address').check();
    await page.getByRole('button', { name: 'Filter' }).click();
    await table.getByText('10.100.50.48').first().waitFor({ state: 'detached' });
    assert.ok((await table.innerText()).includes('= 192.168.158.139'));
    const sent = requests.map((r) => `${r.url()} ${r.postData() ?? ''} ${JSON.stringify(r.headers())}`).join('\n');
    assert.ok(!sent.includes(anonKeyB64), 'no request carries the owner key');
    assert.ok(!sent.includes('meerkat-anon-key'), 'no request carries the key file');
    assert.ok(requests.some((r) => r.url().includes('/flows?') && r.url().includes(encodeURIComponent(`${pseudo.split('.').slice(0, 3).join('.')}.0/24`))), 'the filter went out as the pseudonym prefix');
    await ctx.close();
  });

  it('the owner opens an agent\'s sealed inventory in the page with box.key, which no request carries', async () => {
    // the inventory as the agent collects and seals it to the owner's box.pub, stored as the collector stores it
    const inv = collectInventory({ version: 'test', display: (a) => `${a}*` });
    rig.org('default').registry.saveInventory(AGENT, 'inventory-1', buildInventoryReport(inv, loadBoxPublicKey(join(keysDir, 'box.pub'))));
    const { ctx, page, requests } = await newPage();
    await logIn(page, 'alice', PASSWORD, `#/default/agents/${AGENT}`);
    const card = page.getByTestId('inventory');
    await card.getByText('load box.key above').waitFor();
    assert.ok(!(await card.innerText()).includes(inv.sensitive.hostname), 'no host name without the box key');
    await page.getByTestId('box-key').setInputFiles(join(keysDir, 'box.key'));
    await page.getByTestId('box-key-state').waitFor();
    assert.equal(await page.getByTestId('inventory-hostname').innerText(), inv.sensitive.hostname);
    for (const i of inv.sensitive.interfaces) assert.ok((await page.getByTestId('inventory-sealed').innerText()).includes(i.mac), `the MAC of ${i.name}`);
    // the wrong file for a box key is refused with its reason
    await page.getByRole('button', { name: 'Forget' }).last().click();
    await page.getByTestId('box-key').setInputFiles(join(keysDir, ANON_KEY_FILE));
    await page.getByText('is not a Meerkat owner box secret key').waitFor();
    const boxFile = JSON.parse(readFileSync(join(keysDir, 'box.key'), 'utf8')) as { secretKey: string };
    const sent = requests.map((r) => `${r.url()} ${r.postData() ?? ''} ${JSON.stringify(r.headers())}`).join('\n');
    assert.ok(requests.some((r) => r.url().includes(`/agents/${AGENT}/inventory`)), 'the sealed inventory came from the API');
    assert.ok(!sent.includes(boxFile.secretKey), 'no request carries the box secret key');
    assert.ok(!sent.includes('meerkat-box-secret-key'), 'no request carries the key file');
    assert.ok(!sent.includes(inv.sensitive.hostname), 'the opened host name is not sent back');
    await ctx.close();
  });

  it('a viewer sees no command form and the API refuses the command', async () => {
    const { ctx, page } = await newPage();
    await logIn(page, 'victor');
    await page.getByTestId('whoami').waitFor();
    await page.goto(`${base}/#/default/commands`);
    await page.getByText('Your role in this organisation can read commands, not send them.').waitFor();
    const r = await pageFetch(page, 'POST', '/v1/orgs/default/commands', { body: { agentId: AGENT, kind: 'interdiction.release', params: {} } });
    assert.equal(r.status, 403);
    assert.match(r.body.message!, /victor is viewer in organisation default, which lacks the permission commands:submit/);
    const s = await pageFetch(page, 'POST', '/v1/orgs/default/alerts/1/state', { body: { state: 'closed' } });
    assert.equal(s.status, 403);
    await ctx.close();
  });

  it('a member of one organisation cannot read another by editing the URL', async () => {
    const { ctx, page } = await newPage();
    await logIn(page, 'bob', PASSWORD, '');
    await page.getByTestId('whoami').waitFor();
    await page.goto(`${base}/#/default/flows`);
    await page.waitForURL(/#\/acme\//);
    for (const path of ['/v1/orgs/default/flows', '/v1/orgs/default/alerts', '/v1/orgs/default/overview', '/v1/orgs/default/flows/export?format=csv', '/v1/orgs/nosuch/flows']) {
      const r = await pageFetch(page, 'GET', path, { csrf: 'none' });
      assert.equal(r.status, 403, path);
      assert.match(r.body.message!, /bob is not a member of organisation/);
    }
    const own = await pageFetch(page, 'GET', '/v1/orgs/acme/flows', { csrf: 'none' });
    assert.equal(own.status, 200);
    await ctx.close();
  });

  it('refuses a state change without the CSRF token or with a wrong one, and any call without a session', async () => {
    const { ctx, page } = await newPage();
    await logIn(page, 'alice');
    await page.getByTestId('whoami').waitFor();
    for (const csrf of ['none', 'wrong'] as const) {
      const r = await pageFetch(page, 'POST', '/v1/orgs/default/alerts/1/state', { csrf, body: { state: 'closed' } });
      assert.equal(r.status, 403, csrf);
      assert.match(r.body.message!, /CSRF check failed/);
    }
    const logoutNoToken = await pageFetch(page, 'DELETE', '/v1/session', { csrf: 'none' });
    assert.equal(logoutNoToken.status, 403);
    const ok = await pageFetch(page, 'POST', '/v1/orgs/default/alerts/1/state', { body: { state: 'open' } });
    assert.equal(ok.status, 200);
    const anon = await browser.newContext({ ignoreHTTPSErrors: true });
    const p2 = await anon.newPage();
    await p2.goto(`${base}/`);
    const r = await pageFetch(p2, 'GET', '/v1/orgs/default/flows', { csrf: 'none' });
    assert.equal(r.status, 401);
    await anon.close();
    await ctx.close();
  });

  it('a responder sees a new alert appear live (its summary as text), acknowledges an alert and sends a command signed in the page with the operator key', async () => {
    const { ctx, page, requests } = await newPage();
    await logIn(page, 'alice');
    await page.getByTestId('whoami').waitFor();
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByTestId('alerts-table').waitFor();
    // an alert stored while the page is open shows up within about a second (server-sent event, then a fetch)
    const store = new SqliteAlertStore(orgPaths(rig.dir, 'default').db);
    const ev = { analyzer: 'threat-intel', severity: 'critical' as const, category: 'threat-intel', rule: 'feed', agentId: AGENT, peer: '203.0.113.9', summary: 'talked to a listed address <script>alert(1)</script>', evidence: { feed: 'demo' }, tsUs: Date.now() * 1000 };
    const stored = Date.now();
    store.record([{ key: 'k-live', latest: ev, count: 1, firstTsUs: ev.tsUs, lastTsUs: ev.tsUs, maxSeverity: 'critical', flowUids: [] }]);
    store.close();
    await page.getByText('talked to a listed address <script>alert(1)</script>').waitFor({ timeout: 5000 });
    const seenMs = Date.now() - stored;
    assert.ok(seenMs < 3000, `the new alert appeared after ${seenMs} ms`);
    assert.ok(requests.some((r) => r.url().endsWith('/v1/orgs/default/events')), 'pushed through the event stream (the list itself refreshes only every 15 s)');
    await shot(page, 'alerts');
    await page.getByRole('row').filter({ hasText: 'a scan from the test' }).getByRole('button', { name: 'Ack' }).click();
    await page.getByText('alert 1: acknowledged').waitFor();
    const entries = rig.org('default').audit.list({});
    assert.ok(entries.some((e) => e.action === 'alert.state' && e.actor === 'user:alice'), 'audited with the user');
    await page.goto(`${base}/#/default/agents/${AGENT}`);
    await page.getByTestId('op-key').setInputFiles(join(keysDir, 'op.key'));
    await page.getByText(/Signed in this page with your operator key \(alice, key [0-9a-f]{16}\)/).waitFor();
    await page.getByRole('button', { name: 'Sign and send' }).click();
    await page.getByTestId('command-result').waitFor();
    assert.match(await page.getByTestId('command-result').innerText(), /command \S+ queued/);
    await shot(page, 'agent-command');
    const cmds = rig.org('default').queue.list({ agentId: AGENT });
    assert.equal(cmds.length, 1);
    assert.equal(cmds[0]!.kind, 'interdiction.isolate');
    assert.equal(cmds[0]!.submittedBy, 'alice');
    assert.ok(cmds[0]!.envelope.sig, 'signed');
    const seed = JSON.parse(readFileSync(join(keysDir, 'op.key'), 'utf8')).seed as string;
    assert.ok(!requests.some((r) => (r.postData() ?? '').includes(seed)), 'the signing key never left the page');
    await page.getByTestId('commands-table').waitFor();
    await ctx.close();
  });

  it('an organisation admin makes and revokes an enrollment token; the audit page shows who did what', async () => {
    const { ctx, page } = await newPage();
    await logIn(page, 'bob', PASSWORD, '#/acme/admin');
    await page.getByRole('button', { name: 'New one-time token (24 h)' }).click();
    const token = await page.getByTestId('new-token').innerText();
    assert.ok(token.length > 20);
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('cell', { name: 'revoked' }).waitFor();
    await page.getByRole('link', { name: 'Audit' }).click();
    const audit = page.getByTestId('audit-table');
    await audit.getByRole('row').filter({ hasText: 'token.create' }).filter({ hasText: 'user:bob' }).waitFor();
    await audit.getByRole('row').filter({ hasText: 'token.revoke' }).waitFor();
    await ctx.close();
    // a viewer of acme has no Organisation page, and its API refuses them
    const v = await newPage();
    await logIn(v.page, 'alice', PASSWORD, '#/acme/overview');
    await v.page.getByTestId('whoami').filter({ hasText: 'viewer' }).waitFor();
    assert.equal(await v.page.getByRole('link', { name: 'Organisation' }).count(), 0);
    const r = await pageFetch(v.page, 'POST', '/v1/orgs/acme/tokens', { body: { uses: 1 } });
    assert.equal(r.status, 403);
    await v.ctx.close();
  });

  it('the Feeds page lists the threat-intel feeds with their counts and a failed feed\'s error; none configured says so', async () => {
    const { ctx, page } = await newPage();
    await logIn(page, 'victor');
    await page.getByTestId('whoami').waitFor();
    // reached from the keyboard: the nav link focused, Enter
    await page.getByRole('link', { name: 'Feeds' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/default\/feeds$/);
    const rows = page.getByTestId('feed-row');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    const drop = rows.filter({ hasText: 'drop.txt' });
    assert.equal(await drop.getByTestId('feed-prefixes').innerText(), '3');
    assert.equal(await drop.getByTestId('feed-domains').innerText(), '1');
    assert.equal(await drop.getByTestId('feed-ja4').innerText(), '1');
    assert.equal(await drop.getByTestId('feed-ok').innerText(), 'ok');
    assert.equal(await drop.getByTestId('feed-error').count(), 0);
    // the missing feed: its error shown in its row, its name as text (not markup)
    const gone = rows.filter({ hasText: 'gone.csv' });
    assert.match(await gone.getByTestId('feed-error').innerText(), /reload failed .*ENOENT.*\(nothing loaded\)/);
    assert.equal(await gone.getByRole('rowheader').innerText(), '<b>gone</b>');
    assert.equal(await page.locator('[data-testid="feeds-table"] b').count(), 0, 'no markup from a feed name');
    assert.ok(!(await page.getByTestId('feeds-table').innerText()).includes(feedDir), 'no host path on the page');
    await shot(page, 'feeds');
    await ctx.close();
    // acme has no threat intel
    const b = await newPage();
    await logIn(b.page, 'bob', PASSWORD, '#/acme/feeds');
    await b.page.getByTestId('feeds-empty').waitFor();
    assert.match(await b.page.getByTestId('feeds-empty').innerText(), /No threat-intel feeds configured/);
    await b.ctx.close();
  });

  it('the owner key turns name pseudonyms back into names in the page', async () => {
    // a flow whose server name the agent's name policy sealed (an internal name), newest of all
    const anonKey = loadAnonKey(join(keysDir, ANON_KEY_FILE));
    const sealed = sealName(nameKeys(anonKey), 'fileserver.corp', DEFAULT_INTERNAL_SUFFIXES);
    const store = new SqliteFlowStore(orgPaths(rig.dir, 'default').db);
    const [latest] = store.pageFlows({}, 1, null).records;
    store.insertFlows([{ ...latest!, uid: 'Cnamed.1', start: latest!.start + 1_000_000, flow_start: latest!.start + 1_000_000, end: latest!.end + 1_000_000, server_name: sealed, server_name_anon: true }]);
    store.close();
    const { ctx, page, requests } = await newPage();
    await logIn(page, 'alice', PASSWORD, '#/default/flows');
    const table = page.getByTestId('flows-table');
    await table.getByText(sealed).waitFor();
    assert.ok(!(await table.innerText()).includes('fileserver.corp'), 'no real name without the owner key');
    await page.getByTestId('owner-key').setInputFiles(join(keysDir, ANON_KEY_FILE));
    await table.getByText('= fileserver.corp').waitFor();
    const sent = requests.map((r) => `${r.url()} ${r.postData() ?? ''}`).join('\n');
    assert.ok(!sent.includes('fileserver'), 'the real name is not sent');
    assert.ok(!sent.includes(anonKeyB64), 'no request carries the owner key');
    await ctx.close();
  });

  it('logout ends the session on the server', async () => {
    const { ctx, page } = await newPage();
    await logIn(page, 'alice');
    await page.getByTestId('whoami').waitFor();
    const cookie = (await ctx.cookies()).find((x) => x.name === 'meerkat_session')!.value;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    const other = await browser.newContext({ ignoreHTTPSErrors: true });
    await other.addCookies([{ name: 'meerkat_session', value: cookie, url: base }]);
    const p2 = await other.newPage();
    await p2.goto(`${base}/`);
    const r = await pageFetch(p2, 'GET', '/v1/orgs/default/flows', { csrf: 'none' });
    assert.equal(r.status, 401, 'the old cookie opens nothing');
    await other.close();
    await ctx.close();
  });
});
