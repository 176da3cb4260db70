import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import type { PrismaClient } from '../../src/db/client';
import { http, startTestApi, startTestWorker, testConfig, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';
import { launchChromium, newContext, screenshot } from '../support/browser';

/**
 * The web UI in real headless Chromium against a live stack: the API (which
 * serves web/dist), a worker, Postgres and the Temporal dev server, nothing
 * mocked. One story, in order: sign in with the link `npm start` prints, watch
 * a tree finish, save it as a workflow, run it through the dialog with the
 * first answer lost (one run, resumed), run it again by keyboard only,
 * schedule it and pause it with a note, open a 10,000-goal tree; axe on every
 * page; screenshots of each page in light and dark under test-artifacts/screenshots.
 */

jest.setTimeout(120_000);

// page.evaluate bodies run in the page. The project's lib has no DOM (server code must not see it), so the
// few page globals they use are declared here, for this module only.
interface TPageElement {
  tagName: string;
  id: string;
  innerText?: string;
  getAttribute(name: string): string | null;
  labels?: ArrayLike<{ innerText: string }> | null;
}
declare const document: { activeElement: TPageElement | null; documentElement: { scrollWidth: number } };
declare const sessionStorage: { getItem(key: string): string | null; key(index: number): string | null; length: number };
declare const location: { pathname: string };
declare const innerWidth: number;
declare const requestAnimationFrame: (callback: () => void) => number;

const WEB_DIST = path.resolve(__dirname, '../../web/dist/index.html');
const SERIOUS = new Set(['serious', 'critical']);

let prisma: PrismaClient;
let api: Awaited<ReturnType<typeof startTestApi>>;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
let page: Page;
/** What the story made, for the screenshots at the end. */
const made: { goalId?: string; workflowId?: string; runId?: string; bigGoalId?: string; longGoalId?: string } = {};

beforeAll(async () => {
  if (!existsSync(WEB_DIST)) throw new Error('web/dist is not built: npm install builds it (or npm run web:build)');
  prisma = testPrisma();
  const taskQueue = uniqueTaskQueue('browser');
  worker = await startTestWorker(testConfig(), prisma, taskQueue);
  // A 10,000-goal plan is a big body: more than the default limit.
  api = await startTestApi(prisma, taskQueue, { bodyLimit: '4mb' });
  chromium = await launchChromium();
  browser = chromium.browser;
  const context = await newContext(browser, 'light');
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

/** No serious or critical axe violation on what the page shows now (named, with where). */
async function expectAccessible(p: Page, what: string, rules?: string[]): Promise<void> {
  const builder = new AxeBuilder({ page: p });
  const result = await (rules ? builder.withRules(rules) : builder).analyze();
  const bad = result.violations.filter((v) => SERIOUS.has(v.impact ?? ''));
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
  expect({ page: what, violations: report }).toEqual({ page: what, violations: [] });
}

/** Presses Tab until the focused element matches (at most `max` times): proves it is reachable by keyboard. */
async function tabTo(p: Page, matches: (el: { tag: string; text: string; label: string }) => boolean, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await p.keyboard.press('Tab');
    const el = await p.evaluate(() => {
      const a = document.activeElement;
      return { tag: a?.tagName.toLowerCase() ?? '', text: (a?.innerText ?? '').trim(), label: a?.getAttribute('aria-label') ?? a?.labels?.[0]?.innerText ?? '' };
    });
    if (matches(el)) return;
  }
  throw new Error(`not reached by ${max} presses of Tab`);
}

const releasePlan = {
  children: [
    {
      key: 'build',
      kind: 'composite',
      title: 'Build',
      plan: {
        children: [
          { key: 'compile', kind: 'leaf', title: 'Compile', action: { runtime: 'shell', command: 'printf "release build" > app.txt && echo compiled' } },
          { key: 'test', kind: 'leaf', title: 'Test', action: { runtime: 'shell', command: 'test -s app.txt && echo 12 tests passed' } },
        ],
        edges: [{ from: 'compile', to: 'test' }],
      },
    },
    { key: 'notes', kind: 'leaf', title: 'Write release notes', action: { runtime: 'shell', command: 'echo notes' } },
    { key: 'ship', kind: 'leaf', title: 'Ship to {{inputs.target}}', action: { runtime: 'shell', command: 'sleep 1 && echo "shipping to $REPRISE_INPUT_target"' } },
    { key: 'rollback', kind: 'leaf', title: 'Roll back', action: { runtime: 'shell', command: 'echo rollback' } },
  ],
  edges: [
    { from: 'build', to: 'ship' },
    { from: 'notes', to: 'ship' },
    { from: 'ship', to: 'rollback', on: 'failed' },
  ],
};

describe('the web UI, in Chromium, against a live stack', () => {
  it('signs in from the fragment link and keeps the token out of the address bar', async () => {
    await page.goto(`${api.url}/#token=${api.token}`);
    await page.getByRole('heading', { name: 'Goals', level: 1 }).waitFor();
    expect(new URL(page.url()).hash).toBe('');
    // The token is in this tab's sessionStorage, not in a cookie.
    expect(await page.evaluate(() => sessionStorage.getItem('reprise.token'))).toBe(api.token);
    expect(await page.context().cookies()).toEqual([]);
    // An unknown /api path is still a JSON 404, and a client route is the page.
    const unknown = await http('GET', `${api.url}/api/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ROUTE_NOT_FOUND');
    const deep = await fetch(`${api.url}/goals/anything`);
    expect(deep.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('creates a tree, watches it finish, and saves it as a workflow from its page', async () => {
    // Created in the browser too, from the overview's New goal dialog.
    await page.goto(`${api.url}/`);
    await page.getByRole('button', { name: 'New goal…' }).click();
    const newGoal = page.getByRole('dialog', { name: 'New goal' });
    await newGoal.getByLabel('Title').fill('Release {{inputs.target}}');
    await newGoal.getByLabel('Intent (optional)').fill('Build, test and ship to {{inputs.target}}');
    await newGoal.getByLabel('Plan (JSON)').fill(JSON.stringify(releasePlan, null, 2));
    await expectAccessible(page, 'new goal dialog');
    await newGoal.getByRole('button', { name: 'Create goal' }).click();
    await page.waitForURL(/\/goals\/goal_/);
    made.goalId = new URL(page.url()).pathname.split('/').pop();
    const header = page.locator('main header');
    await header.getByRole('heading', { name: 'Release {{inputs.target}}' }).waitFor();
    // Live: the page polls while the tree runs, and shows it done without a reload.
    await header.getByText('done · accepted').waitFor({ timeout: 45_000 });
    await page.getByRole('treeitem', { name: /Roll back/ }).getByText('skipped').waitFor();
    await page.getByText('Ship to {{inputs.target}} runs when Build succeeded.').first().waitFor();
    await expectAccessible(page, 'goal');

    await page.getByRole('button', { name: 'Save as workflow' }).click();
    const dialog = page.getByRole('dialog', { name: 'Save as workflow' });
    // The name is a slug of the title; the placeholder found in the tree is offered as an input.
    expect(await dialog.getByLabel('Name (required)', { exact: true }).first().inputValue()).toBe('release-target');
    expect(await dialog.locator('#in-0-name').inputValue()).toBe('target');
    await expectAccessible(page, 'save-as-workflow dialog');
    // An error from the API shows beside the field it concerns.
    await dialog.locator('#wf-name').fill('Not A Slug!');
    await dialog.getByRole('button', { name: 'Save workflow' }).click();
    await dialog.locator('#wf-name-error').waitFor();
    const name = `release-${randomBytes(3).toString('hex')}`;
    await dialog.locator('#wf-name').fill(name);
    await dialog.locator('#wf-description').fill('Build, test and ship');
    await dialog.getByLabel('Required', { exact: true }).check();
    await dialog.getByRole('button', { name: 'Save workflow' }).click();
    await page.waitForURL(/\/workflows\/wf_/);
    made.workflowId = new URL(page.url()).pathname.split('/').pop();
    await page.getByRole('heading', { name, level: 1 }).waitFor();
  });

  it('runs it twice through the dialog, the first answer lost, and makes exactly one run', async () => {
    const runDialog = () => page.getByRole('dialog', { name: /^Run release-/ });
    await page.getByRole('button', { name: 'Run…' }).click();
    await runDialog().getByLabel(/target/).fill('prod');
    const key = await runDialog().locator('#run-key').inputValue();
    await expectAccessible(page, 'run dialog');
    // The key survives closing and reopening the dialog, and a reload.
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Run…' }).click();
    expect(await runDialog().locator('#run-key').inputValue()).toBe(key);
    await page.reload();
    await page.getByRole('button', { name: 'Run…' }).click();
    expect(await runDialog().locator('#run-key').inputValue()).toBe(key);
    expect(await runDialog().getByLabel(/target/).inputValue()).toBe('prod');

    // First attempt: the request reaches the API (which starts the run), then its answer is dropped.
    let reached = 0;
    await page.route('**/api/workflows/*/runs', async (route) => {
      if (route.request().method() !== 'POST' || reached > 0) return route.fallback();
      reached++;
      const answer = await route.fetch();
      expect(answer.status()).toBe(201);
      await route.abort('connectionreset');
    });
    await runDialog().getByRole('button', { name: 'Run', exact: true }).click();
    await runDialog().getByText('The answer did not arrive').waitFor();
    expect(reached).toBe(1);

    // Second attempt, after closing and reopening: the same key resumes the same run.
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Run…' }).click();
    expect(await runDialog().locator('#run-key').inputValue()).toBe(key);
    await runDialog().getByRole('button', { name: 'Run', exact: true }).click();
    await runDialog().getByText('Resumed run #1').waitFor();
    await page.unroute('**/api/workflows/*/runs');

    const runs = await http('GET', `${api.url}/api/workflows/${made.workflowId}/runs`);
    expect(runs.body.total).toBe(1);
    expect(runs.body.items[0].idempotency_key).toBe(key);
    made.runId = runs.body.items[0].id;

    // After a success the next opening has a new key; changing an input makes another.
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Run…' }).click();
    const next = await runDialog().locator('#run-key').inputValue();
    expect(next).not.toBe(key);
    await runDialog().getByLabel(/target/).fill('staging');
    expect(await runDialog().locator('#run-key').inputValue()).not.toBe(next);
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Runs (1)' }).waitFor();
    await expectAccessible(page, 'workflow');

    // The run page: its tree finishes, titled with the input.
    await page.getByRole('link', { name: 'Run #1' }).click();
    await page.getByRole('heading', { name: 'Run #1: Release prod' }).waitFor();
    await page.locator('main header').getByText('done · accepted').waitFor({ timeout: 45_000 });
    await expectAccessible(page, 'run');
  });

  it('walks a story by keyboard only: overview → workflow → a second run (Started run #2)', async () => {
    await page.goto(`${api.url}/`);
    await page.getByRole('heading', { name: 'Repeatable (workflows)' }).waitFor();
    await expectAccessible(page, 'goals overview');
    await tabTo(page, (el) => el.tag === 'a' && el.text.startsWith('release-'));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^release-/, level: 1 }).waitFor();
    await tabTo(page, (el) => el.text === 'Run…');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    // Focus starts on the dialog's first field, not its close button.
    await waitFor(async () => ((await page.evaluate(() => document.activeElement?.id)) === 'run-input-target' ? true : undefined), 'focus on the first field', 5_000);
    await page.keyboard.type('canary');
    await tabTo(page, (el) => el.tag === 'button' && el.text === 'Run', 10);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').getByText('Started run #2').waitFor();
    await tabTo(page, (el) => el.tag === 'a' && el.text === 'Open the run', 10);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Run #2/ }).waitFor();
    // The goal tree is one tab stop; arrows move in it and Enter selects. (Once the run's tree is written: on a
    // busy machine the page can show the root alone for a moment, and an arrow would have nowhere to go.)
    await page
      .getByRole('treeitem', { name: /\bBuild\b/ })
      .waitFor({ timeout: 90_000 })
      .catch(async (err: unknown) => {
        // What the run and its tree were when the page still did not show them (the page's own view is in the screenshot).
        const runs = await prisma.run.findMany({ where: { idempotencyKey: { not: '' } }, orderBy: { createdAt: 'desc' }, take: 1, select: { id: true, state: true, rootGoalId: true, error: true } });
        const goals = runs[0]?.rootGoalId ? await prisma.goal.groupBy({ by: ['lifecycle'], where: { rootId: runs[0].rootGoalId }, _count: true }) : [];
        await page.screenshot({ path: path.resolve(__dirname, '../../test-artifacts/screenshots/run-2-timeout.png') }).catch(() => undefined);
        throw new Error(`${String(err)}\nlatest run: ${JSON.stringify(runs[0])}; its tree: ${JSON.stringify(goals)}; page at ${page.url()}`);
      });
    await tabTo(page, (el) => el.tag === 'div' && el.label.startsWith('Goals of'), 30);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Build', level: 3 }).waitFor();
  });

  it('schedules it, and pauses it from the schedules page with a note', async () => {
    await page.goto(`${api.url}/workflows/${made.workflowId}`);
    await page.getByRole('button', { name: 'Schedule…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Every').check();
    await dialog.getByLabel('Interval').fill('1d');
    await dialog.getByText('Next fires:').waitFor();
    await dialog.getByLabel(/target/).fill('nightly');
    await expectAccessible(page, 'schedule dialog');
    await dialog.getByRole('button', { name: 'Save schedule' }).click();
    await dialog.getByText('Scheduled: every 1d.').waitFor();
    await dialog.getByRole('link', { name: 'All schedules' }).click();

    await page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Pause…' }).click();
    await page.getByRole('dialog').getByLabel('Note').fill('paused for the release freeze');
    await page.getByRole('dialog').getByRole('button', { name: 'Pause', exact: true }).click();
    await page
      .getByText('Paused: paused for the release freeze')
      .waitFor()
      .catch(async (err: unknown) => {
        // What the page said instead (an error from the API names its cause).
        const said = await page.locator('[role=alert], [role=status], [role=dialog]').allInnerTexts();
        throw new Error(`${String(err)}\nthe page said: ${JSON.stringify(said)}`);
      });
    await page.getByText('paused', { exact: true }).waitFor();
    await expectAccessible(page, 'schedules');
  });

  it('shows a schedule deleted in Temporal only, and forgets it by keyboard', async () => {
    const made2 = await http('POST', `${api.url}/api/workflows/${made.workflowId}/schedules`, { spec: { every: '1h' }, inputs: { target: 'lost' }, paused: true });
    expect(made2.status).toBe(201);
    const id: string = made2.body.id;
    await api.temporal.schedule.getHandle(id).delete();
    // Its workflow's page lists it, pointing to the Schedules page.
    await page.goto(`${api.url}/workflows/${made.workflowId}`);
    await page.getByRole('region', { name: /^Schedules \(\d+\)$/ }).getByText('not found in Temporal: see the Schedules page').waitFor();
    await page.goto(`${api.url}/schedules`);
    const card = page.getByRole('region', { name: '1 schedule not found in Temporal' });
    await card.getByText(id).waitFor();
    await expectAccessible(page, 'schedules with one not in Temporal');
    await screenshot(page, 'schedules-not-in-temporal', 'light');
    // In dark too: axe's colour-contrast rules on the card.
    const dark = await newContext(browser, 'dark');
    const d = await dark.newPage();
    await d.goto(`${api.url}/#token=${api.token}`);
    await d.getByRole('heading', { name: 'Goals', level: 1 }).waitFor();
    await d.goto(`${api.url}/schedules`);
    await d.getByRole('region', { name: '1 schedule not found in Temporal' }).getByText(id).waitFor();
    await expectAccessible(d, 'schedules with one not in Temporal (dark)', ['color-contrast']);
    await screenshot(d, 'schedules-not-in-temporal', 'dark');
    await dark.close();
    // By keyboard: the button opens a warning first; Enter on its Forget button forgets it.
    await card.getByRole('button', { name: `Forget schedule ${id}…` }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `Forget schedule ${id}?` });
    await dialog.getByText('Only if it was deleted in Temporal.').waitFor();
    await expectAccessible(page, 'forget dialog');
    await screenshot(page, 'forget-dialog', 'light');
    await dialog.getByRole('button', { name: 'Forget schedule' }).focus();
    await page.keyboard.press('Enter');
    await card.waitFor({ state: 'detached' });
    const said = page.getByRole('status').filter({ hasText: `Forgot schedule ${id}. Its runs stay.` });
    await said.waitFor();
    // Its button is gone: focus is on what the page said, not lost to the body.
    expect(await said.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await prisma.schedule.count({ where: { id } })).toBe(0);
  });

  it('refuses a bad token at sign-in, and says which scope a token lacks (403)', async () => {
    const context = await newContext(browser, 'light');
    const p = await context.newPage();
    p.setDefaultTimeout(20_000);
    await p.goto(`${api.url}/`);
    await p.getByLabel('Token').fill('rpr_not-a-real-token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText('This token is not valid here').waitFor();
    // A token that may read workflows but not run them: the dialog names the missing scope.
    const readOnly = await http('POST', `${api.url}/api/tokens`, { name: 'read only', scopes: ['goals:read', 'workflows:read', 'schedules:read'] });
    expect(readOnly.status).toBe(201);
    await p.getByLabel('Token').fill(readOnly.body.secret);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Goals', level: 1 }).waitFor();
    await p.goto(`${api.url}/workflows/${made.workflowId}`);
    await p.getByRole('button', { name: 'Run…' }).click();
    await p.getByRole('dialog').getByLabel(/target/).fill('nowhere');
    await p.getByRole('dialog').getByRole('button', { name: 'Run', exact: true }).click();
    await p.getByRole('dialog').getByText(/lacks the scope workflows:write/).waitFor();
    // Signing out forgets the token, and the run dialog's draft (its inputs and idempotency key) with it.
    expect(await p.evaluate(() => sessionStorage.getItem(`reprise.run-dialog.${location.pathname.split('/').pop()}`))).toContain('nowhere');
    await p.keyboard.press('Escape');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('heading', { name: 'Sign in to Reprise' }).waitFor();
    expect(await p.evaluate(() => Array.from({ length: sessionStorage.length }, (_, i) => sessionStorage.key(i)))).toEqual([]);
    await context.close();
  });

  it('opens a 10,000-goal tree without freezing: collapsed subtrees with counts, virtualised rows', async () => {
    // An agent whose limits allow a big tree (the default agent's do not), and a token acting for it.
    const agent = await http('POST', `${api.url}/api/agents`, { name: `big-${randomBytes(3).toString('hex')}`, allowed_runtimes: ['manual'], max_children: 200, max_goals: 20_000 });
    expect(agent.status).toBe(201);
    const token = await http('POST', `${api.url}/api/tokens`, { name: 'big tree', agent_id: agent.body.id });
    expect(token.status).toBe(201);
    const children = Array.from({ length: 100 }, (_, i) => ({
      key: `c${i}`,
      kind: 'composite',
      title: `Region ${i + 1}`,
      plan: { children: Array.from({ length: 99 }, (_, j) => ({ key: `l${j}`, kind: 'leaf', title: `Store ${j + 1}`, action: { runtime: 'manual' } })), edges: [] },
    }));
    const big = await http('POST', `${api.url}/api/goals`, { title: 'Ten thousand goals', kind: 'composite', start: false, plan: { children, edges: [] } }, { authorization: `Bearer ${token.body.secret}` });
    expect(big.status).toBe(201);
    made.bigGoalId = big.body.id;
    // A title with no place to break: pages must wrap or cut it, never overflow sideways (checked with the screenshots).
    const long = await http('POST', `${api.url}/api/goals`, { title: `Unbroken-${'x'.repeat(180)}`, action: { runtime: 'manual' }, start: false });
    expect(long.status).toBe(201);
    made.longGoalId = long.body.id;
    // Shown as running, so the page polls it fast. Marked in Postgres: 10,000 real leaves would cost this
    // 2-core machine minutes, and what the page does with the answers is the same.
    await prisma.goal.updateMany({ where: { id: made.bigGoalId }, data: { lifecycle: 'active', startedAt: new Date() } });
    const treeAnswers: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes(`/api/goals/${made.bigGoalId}/tree`)) treeAnswers.push(r.status());
    });

    const opened = Date.now();
    await page.goto(`${api.url}/goals/${made.bigGoalId}`);
    await page.getByRole('treeitem', { name: /Region 1\b/ }).waitFor({ timeout: 30_000 });
    const openMs = Date.now() - opened;
    // Only what is on screen is in the DOM, and each collapsed region says how many goals it holds.
    expect(await page.getByRole('treeitem').count()).toBeLessThan(80);
    await page.getByRole('treeitem', { name: /Region 1\b/ }).getByText('99 goals').waitFor();
    // The page answers at once: a frame within 200 ms while the tree is shown, and End scrolls to the last region.
    const frameMs = await page.evaluate(() => new Promise<number>((resolve) => { const t = performance.now(); requestAnimationFrame(() => resolve(performance.now() - t)); }));
    expect(frameMs).toBeLessThan(200);
    await page.getByRole('tree').focus();
    await page.keyboard.press('End');
    await page.getByRole('treeitem', { name: /Region 100\b/ }).waitFor();
    await page.keyboard.press('ArrowRight');
    await page.getByRole('treeitem', { name: /Store 1\b/ }).waitFor();
    await expectAccessible(page, '10,000-goal tree');

    // While it runs the page polls it: unchanged, the tree answers 304 (nothing is read, parsed or drawn again).
    await waitFor(async () => (treeAnswers.includes(304) ? true : undefined), 'a poll answered 304');
    // Changed, it is read again and shown; all the while the page keeps drawing frames and answering clicks.
    await page.evaluate(() => {
      const w = globalThis as unknown as { maxFrameGap: number };
      w.maxFrameGap = 0;
      let last = performance.now();
      const tick = () => {
        const now = performance.now();
        w.maxFrameGap = Math.max(w.maxFrameGap, now - last);
        last = now;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const reads = treeAnswers.filter((s) => s === 200).length;
    const store = await prisma.goal.findFirstOrThrow({ where: { rootId: made.bigGoalId, title: 'Store 1', parent: { title: 'Region 100' } } });
    await prisma.goal.update({ where: { id: store.id }, data: { lifecycle: 'active', startedAt: new Date() } });
    await page.getByRole('treeitem', { name: /Store 1\b/ }).getByText('active').waitFor({ timeout: 30_000 });
    expect(treeAnswers.filter((s) => s === 200).length).toBeGreaterThan(reads);
    await page.getByRole('treeitem', { name: /Store 1\b/ }).click();
    await page.getByRole('heading', { name: 'Store 1', level: 3 }).waitFor();
    const maxFrameGap = await page.evaluate(() => (globalThis as unknown as { maxFrameGap: number }).maxFrameGap);
    // Generous bounds: a frozen page misses them by seconds; a loaded 2-core machine still meets them.
    expect(maxFrameGap).toBeLessThan(2_000);
    console.log(`10,000-goal tree: shown in ${openMs} ms (fetch and render), frame ${frameMs.toFixed(1)} ms; polled while running: longest frame gap ${maxFrameGap.toFixed(0)} ms`);
  });

  // Each page with what shows it is ready (its data loaded, not a spinner).
  const pages = (): [string, string, (p: Page) => Promise<void>][] => [
    ['goals', '/', (p) => p.getByRole('heading', { name: 'Repeatable (workflows)' }).waitFor()],
    ['goal', `/goals/${made.goalId}`, (p) => p.getByRole('heading', { name: 'Release {{inputs.target}}', level: 3 }).waitFor()],
    ['workflow', `/workflows/${made.workflowId}`, (p) => p.getByRole('heading', { name: /^Runs \(\d+\)$/ }).waitFor()],
    ['run', `/runs/${made.runId}`, (p) => p.getByRole('heading', { name: 'Release prod', level: 3 }).waitFor()],
    ['schedules', '/schedules', (p) => p.getByText('Paused: paused for the release freeze').waitFor()],
    ['big-tree', `/goals/${made.bigGoalId}`, (p) => p.getByRole('treeitem', { name: /Region 1\b/ }).waitFor({ timeout: 30_000 })],
    ['long-title', `/goals/${made.longGoalId}`, (p) => p.getByRole('heading', { name: /^Unbroken-x+$/, level: 3 }).waitFor()],
  ];
  const PHONE = { width: 390, height: 844 };
  const DESKTOP = { width: 1360, height: 900 };
  /** Nothing wider than the window: long titles wrap or are cut (with their full text on hover). */
  async function expectNoSidewaysOverflow(p: Page, what: string): Promise<void> {
    const widths = await p.evaluate(() => ({ page: document.documentElement.scrollWidth, window: innerWidth }));
    expect({ what, overflows: widths.page > widths.window }).toEqual({ what, overflows: false });
  }

  it.each(['light', 'dark'] as const)('takes screenshots of each page (%s), sign-in checked by axe, dark colours too', async (scheme) => {
    const context = await newContext(browser, scheme);
    const p = await context.newPage();
    p.setDefaultTimeout(20_000);
    await p.goto(`${api.url}/`);
    await p.getByRole('heading', { name: 'Sign in to Reprise' }).waitFor();
    await expectAccessible(p, `sign-in (${scheme})`);
    await screenshot(p, 'sign-in', scheme);
    await p.goto(`${api.url}/#token=${api.token}`);
    await p.getByRole('heading', { name: 'Goals', level: 1 }).waitFor();
    for (const [name, route, ready] of pages()) {
      // The 10,000-goal tree is the goal page again: once, in light, is enough to see it.
      if (name === 'big-tree' && scheme === 'dark') continue;
      await p.goto(`${api.url}${route}`);
      await ready(p);
      // The story checked every page with every rule in light; the dark theme changes colours only.
      // (The long title's page is the goal page again: its colours are checked there.)
      if (scheme === 'dark' && name !== 'long-title') await expectAccessible(p, `${name} (dark)`, ['color-contrast']);
      await expectNoSidewaysOverflow(p, `${name} (${scheme})`);
      await screenshot(p, name, scheme);
      // On a phone too (in light: the layout is the same in dark): nothing scrolls sideways.
      if (scheme === 'light' && name !== 'big-tree') {
        await p.setViewportSize(PHONE);
        await expectNoSidewaysOverflow(p, `${name} (phone)`);
        await screenshot(p, `${name}-phone`, scheme);
        await p.setViewportSize(DESKTOP);
      }
    }
    const dialogs: [string, string, string][] = [
      ['new-goal-dialog', '/', 'New goal…'],
      ['run-dialog', `/workflows/${made.workflowId}`, 'Run…'],
      ['schedule-dialog', `/workflows/${made.workflowId}`, 'Schedule…'],
      ['save-dialog', `/goals/${made.goalId}`, 'Save as workflow'],
    ];
    for (const [name, route, button] of dialogs) {
      await p.goto(`${api.url}${route}`);
      await p.getByRole('button', { name: button }).click();
      await p.getByRole('dialog').waitFor();
      if (scheme === 'dark') await expectAccessible(p, `${name} (dark)`, ['color-contrast']);
      await screenshot(p, name, scheme);
    }
    await context.close();
  });
});
