// The web console's page budgets (issue 15) measured in a real browser (Debian's chromium through
// playwright-core, headless, a fresh profile each run: nothing cached): the operators' API over
// HTTPS on loopback serving an organisation whose database is the console bench's (1,000,000
// flows, 10,000 alerts); how long until the first page (the login form) is usable, and from
// "Log in" until the overview's content (agent count, charts, top tables) is drawn; and the
// compressed (gzip) size of the page's JavaScript and CSS as built.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import { OrgApiRig } from '../test/helpers/org-api-rig.js';
import { orgPaths } from '../collector/orgs/org-paths.js';
import { repoRoot } from '../shared/util/repo-paths.js';

const CHROMIUM = '/usr/bin/chromium';

export interface Timing { p50: number; p95: number; max: number }

export interface ConsolePageBench {
  runs: number;
  /** ms from navigating to the console until the login form takes input */
  loginForm: Timing;
  /** ms from clicking "Log in" until the overview's content is drawn */
  overview: Timing;
  /** ms the login request took (POST /v1/session: scrypt on the server by design, about 0.3 s of a core) */
  loginRequest: Timing;
  /** ms from navigating until the overview is drawn, less the time spent typing into the form */
  firstPage: Timing;
  /** ms from navigating until the overview is drawn with a session already open (a fresh profile holding only its cookie) */
  returning: Timing;
}

function timing(xs: number[]): Timing {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length / 2)]!, p95: s[Math.min(s.length - 1, Math.floor(0.95 * s.length))]!, max: s[s.length - 1]! };
}

/** gzip bytes of the built page's JavaScript, and of its JavaScript and CSS together (dist/console-web), or null when not built. */
export function consoleBundleGzip(dir = join(repoRoot(), 'dist', 'console-web')): { js: number; jsAndCss: number } | null {
  if (!existsSync(dir)) return null;
  let js = 0;
  let css = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (['.js', '.mjs'].includes(extname(e.name))) js += gzipSync(readFileSync(p), { level: 9 }).length;
      else if (extname(e.name) === '.css') css += gzipSync(readFileSync(p), { level: 9 }).length;
    }
  };
  walk(dir);
  return { js, jsAndCss: js + css };
}

/** The overview is drawn: its numbers, both charts (uPlot canvases) and the top tables. */
async function overviewDrawn(page: Page): Promise<void> {
  await page.getByTestId('agents-online').waitFor({ state: 'visible' });
  await page.locator('.chart canvas').nth(1).waitFor({ state: 'visible' });
  await page.getByRole('heading', { name: 'Top talkers' }).waitFor({ state: 'visible' });
}

/**
 * The console on `dbPath` (copied into a fresh collector state as the default organisation's
 * database), `runs` logins in fresh browser contexts. Null when chromium is not installed.
 */
export async function benchConsolePage(o: { dbPath: string; runs?: number; log?: (s: string) => void }): Promise<ConsolePageBench | null> {
  const log = o.log ?? (() => undefined);
  if (!existsSync(CHROMIUM)) {
    log(`console page: not measured (${CHROMIUM} is missing; scripts/setup.sh installs Debian's chromium)`);
    return null;
  }
  const runs = o.runs ?? 10;
  const rig = new OrgApiRig();
  const db = orgPaths(rig.dir, 'default').db;
  mkdirSync(orgPaths(rig.dir, 'default').dir, { recursive: true, mode: 0o700 });
  copyFileSync(o.dbPath, db);
  await rig.start({});
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const password = 'bench password for the console';
    await rig.state.users.add({ name: 'bench', password });
    rig.state.users.grant('bench', 'default', 'viewer');
    const base = `https://127.0.0.1:${rig.api.port}`;
    const form: number[] = [];
    const overview: number[] = [];
    const first: number[] = [];
    const login: number[] = [];
    const returning: number[] = [];
    // one run to start the server's and the browser's code paths, not counted
    for (let k = -1; k < runs; k++) {
      const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
      try {
        const page = await ctx.newPage();
        const t0 = performance.now();
        await page.goto(`${base}/#/default/overview`);
        const user = page.getByLabel('User');
        await user.waitFor({ state: 'visible' });
        const t1 = performance.now();
        await user.fill('bench');
        await page.getByLabel('Password').fill(password);
        const t2 = performance.now();
        const posted = page.waitForResponse((r) => r.url().endsWith('/v1/session') && r.request().method() === 'POST');
        await page.getByRole('button', { name: 'Log in' }).click();
        const res = await posted;
        await res.finished();
        const loginMs = res.request().timing().responseEnd;
        await overviewDrawn(page);
        const t3 = performance.now();
        // the same user coming back: a fresh profile (no cache) with only the session cookie
        const back = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, storageState: await ctx.storageState() });
        let backMs: number;
        try {
          const p2 = await back.newPage();
          const t4 = performance.now();
          await p2.goto(`${base}/#/default/overview`);
          await overviewDrawn(p2);
          backMs = performance.now() - t4;
        } finally {
          await back.close();
        }
        if (k >= 0) {
          form.push(t1 - t0);
          overview.push(t3 - t2);
          first.push(t3 - t0 - (t2 - t1));
          login.push(loginMs);
          returning.push(backMs);
        }
      } finally {
        await ctx.close();
      }
    }
    return { runs, loginForm: timing(form), overview: timing(overview), loginRequest: timing(login), firstPage: timing(first), returning: timing(returning) };
  } finally {
    await browser.close();
    await rig.close();
  }
}
