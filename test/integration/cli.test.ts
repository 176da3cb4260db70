import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PrismaClient } from '../../src/db/client';
import { freePort } from '../support/ports';
import { startTestApi, startTestWorker, testConfig, testEnv, testPrisma, uniqueTaskQueue, waitFor } from '../support/env';

/**
 * The `reprise` CLI (SPEC §7) as a user runs it: `node bin/reprise.cjs …`
 * in a child process (no shell), from an empty directory, against a live
 * API on the real Temporal dev server and Postgres. REPRISE_DATA_DIR points
 * at an empty directory so a developer's own `.data` token is never read.
 */

const BIN = path.resolve(__dirname, '../../bin/reprise.cjs');
let prisma: PrismaClient;
let worker: Awaited<ReturnType<typeof startTestWorker>>;
let api: Awaited<ReturnType<typeof startTestApi>>;
const taskQueue = uniqueTaskQueue('cli');
const workDir = mkdtempSync(path.join(tmpdir(), 'reprise-cli-'));
const emptyDataDir = mkdtempSync(path.join(tmpdir(), 'reprise-cli-data-'));
const schedules: string[] = [];

beforeAll(async () => {
  prisma = testPrisma();
  worker = await startTestWorker(testConfig(), prisma, taskQueue);
  api = await startTestApi(prisma, taskQueue);
});

afterAll(async () => {
  for (const id of schedules) await cli(['schedule', 'delete', id]).catch(() => undefined);
  await api?.close();
  await worker?.stop();
  await prisma?.$disconnect();
});

type TJson = any;

interface TResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a child gets: ours without any Reprise or database settings, then `env`. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REPRISE_|DATABASE_URL$|API_|TEMPORAL_)/.test(k)));
  const merged: NodeJS.ProcessEnv = { ...base, REPRISE_DATA_DIR: emptyDataDir, REPRISE_URL: api.url, REPRISE_TOKEN: api.token, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return merged;
}

/** Runs the CLI; never rejects on a non-zero exit (the test looks at `code`). */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<TResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd: workDir, env: childEnv(env), timeout: 45_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`reprise ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/**
 * Runs the CLI as `reprise … | head -1` would: its stdout goes to a reader
 * that closes the pipe once it has a first line (or, with `closeStderr`, its
 * stderr is closed before it starts). Resolves with the exit code, the first
 * line, and what reached stderr.
 */
function cliIntoClosingReader(args: string[], options: { closeStderr?: boolean } = {}): Promise<TResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: workDir, env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    let stdout = '';
    let stderr = '';
    if (options.closeStderr) child.stderr.destroy();
    else child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('\n')) child.stdout.destroy();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout: stdout.split('\n')[0]!, stderr });
    });
  });
}

/** Runs the CLI with --json and expects exit 0 and one JSON document on stdout. */
async function json(args: string[], env: Record<string, string | undefined> = {}): Promise<TJson> {
  const res = await cli(['--json', ...args], env);
  if (res.code !== 0) throw new Error(`reprise --json ${args.join(' ')} exited ${res.code}:\n${res.stderr}`);
  return JSON.parse(res.stdout);
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(workDir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

const unique = (name: string) => `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const leaf = (key: string, command: string) => ({ key, kind: 'leaf', title: key, action: { runtime: 'shell', command } });

/** Creates a tree with the CLI, waits (polling `goal show`) for it to be accepted, and saves it with one required input. */
async function savedWorkflow(title: string, plan: unknown, input: string): Promise<TJson> {
  const goal = await json(['goal', 'create', '--file', writeJson(`${unique('goal')}.json`, { title, plan })]);
  expect([goal.kind, goal.title]).toEqual(['composite', title]);
  const done = await waitFor(
    async () => {
      const g = await json(['goal', 'show', goal.id]);
      return ['done', 'failed', 'cancelled'].includes(g.lifecycle) ? g : undefined;
    },
    `goal ${goal.id} ends`,
    20_000,
  );
  expect([done.lifecycle, done.done_reason]).toEqual(['done', 'accepted']);
  const wf = await json(['workflow', 'save', goal.id, '--name', unique('cli'), '--input', `${input}:required`]);
  expect(wf).toMatchObject({ version: 1, fully_frozen: true, source_goal_id: goal.id, inputs: [{ name: input, required: true }] });
  return wf;
}

describe('the README story with --json', () => {
  it('creates a tree, saves it, runs it with --wait, schedules it, pauses, resumes, triggers and deletes', async () => {
    const wf = await savedWorkflow(
      'Greet {{inputs.who}}',
      { children: [leaf('hello', 'printf "hello %s" "$REPRISE_INPUT_who"'), leaf('bye', 'true')], edges: [{ from: 'hello', to: 'bye' }] },
      'who',
    );

    // A missing required input is the API's 400, printed with its code.
    const refused = await cli(['workflow', 'run', wf.id, '--key', 'k0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^reprise: .*who.* \(\w+, HTTP 400\)\n$/);

    const run = await cli(['--json', 'workflow', 'run', wf.id, '--key', 'k1', '--input', 'who=world', '--wait']);
    expect([run.code, run.stderr]).toEqual([0, expect.stringMatching(/goals done/)]);
    const ended = JSON.parse(run.stdout);
    expect(ended).toMatchObject({ state: 'materialized', status: { status: 'done', reason: 'accepted' }, inputs: { who: 'world' }, title: 'Greet world', workflow: { id: wf.id } });
    const tree = await json(['goal', 'tree', ended.root_goal_id, '--output']);
    expect(tree.children.find((c: TJson) => c.key === 'hello').output.stdout).toBe('hello world');

    // The same key again is the same run: --wait returns at once.
    const replay = await json(['workflow', 'run', wf.id, '--key', 'k1', '--input', 'who=world']);
    expect([replay.created, replay.run.id]).toEqual([false, ended.id]);
    expect((await json(['run', 'show', ended.id])).id).toBe(ended.id);
    const runs = await json(['workflow', 'runs', wf.id]);
    expect([runs.total, runs.items.map((r: TJson) => r.id)]).toEqual([1, [ended.id]]);

    const every = await json(['schedule', 'add', '--workflow', wf.id, '--every', '1h', '--input', 'who=hourly', '--note', 'from the cli']);
    schedules.push(every.id);
    expect(every).toMatchObject({ workflow: { id: wf.id }, spec: { every: '1h' }, inputs: { who: 'hourly' }, paused: false, overlap: 'skip', note: 'from the cli' });
    const cron = await json(['schedule', 'add', '--workflow', wf.id, '--cron', '0 8 * * 1-5', '--timezone', 'Europe/Paris', '--input', 'who=team', '--overlap', 'buffer_one', '--paused', '--catchup', '6h']);
    schedules.push(cron.id);
    expect(cron).toMatchObject({ spec: { cron: '0 8 * * 1-5', timezone: 'Europe/Paris' }, overlap: 'buffer_one', paused: true, catchup_window: '6h' });
    expect(every.catchup_window).toBe('1d');
    expect((await cli(['schedule', 'show', cron.id])).stdout).toMatch(/^catch-up window {2}6h$/m);
    const listed = await json(['schedule', 'list', '--workflow', wf.id]);
    expect(listed.items.map((s: TJson) => s.id).sort()).toEqual([every.id, cron.id].sort());
    // A paused schedule shows no next fire (Temporal keeps computing them); an active one does.
    const table = (await cli(['schedule', 'list', '--workflow', wf.id])).stdout;
    expect(table).toMatch(new RegExp(`^${cron.id} .* paused +- `, 'm'));
    expect(table).toMatch(new RegExp(`^${every.id} .* active +\\d{4}-\\d\\d-\\d\\d `, 'm'));
    expect((await cli(['schedule', 'show', cron.id])).stdout).toMatch(/^next fires +none while paused$/m);

    expect(await json(['schedule', 'pause', every.id, '--note', 'holiday'])).toMatchObject({ id: every.id, paused: true, note: 'holiday' });
    expect((await cli(['schedule', 'resume', every.id])).stdout).toBe(`Resumed schedule ${every.id}\n`);
    expect((await cli(['schedule', 'pause', every.id, '--note', 'again'])).stdout).toBe(`Paused schedule ${every.id}: again\n`);
    expect(await json(['schedule', 'resume', every.id])).toMatchObject({ id: every.id, paused: false });
    await json(['schedule', 'trigger', every.id]);
    const fired = await waitFor(
      async () => {
        const s = await json(['schedule', 'show', every.id]);
        return s.runs?.items.some((r: TJson) => r.status.status === 'done') ? s : undefined;
      },
      'the triggered fire becomes a finished run',
      20_000,
    );
    expect(fired.runs.items[0]).toMatchObject({ schedule_id: every.id, inputs: { who: 'hourly' }, title: 'Greet hourly' });

    // One deleted in Temporal only: the list leaves it out and says so on stderr; `schedule delete` forgets it.
    await api.temporal.schedule.getHandle(cron.id).delete();
    const partial = await cli(['schedule', 'list', '--workflow', wf.id]);
    expect([partial.code, partial.stdout.includes(every.id), partial.stdout.includes(cron.id)]).toEqual([0, true, false]);
    expect(partial.stderr).toContain(`Temporal says it does not have ${cron.id} (deleted there, or Temporal still starting: try again in a minute); \`reprise schedule delete <id>\` forgets one deleted there`);
    for (const id of [every.id, cron.id]) expect(await json(['schedule', 'delete', id])).toEqual({ deleted: id });
    schedules.length = 0;
    const gone = await cli(['schedule', 'show', every.id]);
    expect([gone.code, gone.stderr]).toEqual([1, expect.stringMatching(/\(NOT_FOUND, HTTP 404\)/)]);
  }, 180_000); // some twenty CLI processes, each a Node start-up: minutes on a loaded 2-core machine
});

describe('run --wait', () => {
  it('exits 1 with the reason when the run fails', async () => {
    // Passes while saved (no input), fails when run with mode=fail.
    const wf = await savedWorkflow('Check {{inputs.mode}}', { children: [leaf('check', 'test "$REPRISE_INPUT_mode" != fail')] }, 'mode');
    const res = await cli(['workflow', 'run', wf.id, '--key', 'bad', '--input', 'mode=fail', '--wait']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^state\s+failed/m);
    expect(res.stderr).toMatch(/goals done/);
    expect(res.stderr).toMatch(/^reprise: run run_\w+ failed: .+$/m);
  });
});

describe('human output and errors', () => {
  it('prints a list as an aligned table', async () => {
    const goal = await json(['goal', 'create', '--title', 'Table me', '--command', 'true', '--no-start']);
    expect(goal).toMatchObject({ kind: 'leaf', lifecycle: 'draft', action: { runtime: 'shell', command: 'true' } });
    const res = await cli(['goal', 'list', '--lifecycle', 'draft', '--limit', '200']);
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+STATE\s+TITLE\s+CREATED$/);
    const row = lines.find((l) => l.startsWith(goal.id));
    expect(row).toMatch(new RegExp(`^${goal.id}\\s+leaf\\s+draft\\s+Table me\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}Z$`));
    // Columns line up: each header starts where its cells do.
    expect(row!.indexOf('leaf')).toBe(lines[0]!.indexOf('KIND'));
    expect(row!.indexOf('Table me')).toBe(lines[0]!.indexOf('TITLE'));
  });

  it('prints titles with terminal escape sequences as visible escapes, in lists, details and trees', async () => {
    // Retitles the terminal, clears the screen, and reverses what follows: harmless only as text.
    const title = 'Hostile \x1b]0;owned\x07\x1b[2J\u202e title';
    const goal = await json(['goal', 'create', '--title', title, '--command', 'true', '--no-start']);
    expect(goal.title).toBe(title);
    for (const args of [['goal', 'list', '--lifecycle', 'draft', '--limit', '200'], ['goal', 'show', goal.id], ['goal', 'tree', goal.id]]) {
      const res = await cli(args);
      expect([args.join(' '), res.code]).toEqual([args.join(' '), 0]);
      expect(res.stdout).toContain('Hostile \\x1b]0;owned\\x07\\x1b[2J\\u202e title');
      expect([...res.stdout].filter((c) => ['\x07', '\x1b', '\u202e'].includes(c))).toEqual([]);
    }
  });

  it('prints the API error with its code and status, and exits 1', async () => {
    const res = await cli(['goal', 'show', 'goal_01jd3v8k2m7q9x4w5y6z7a8b9c']);
    expect(res).toEqual({ code: 1, stdout: '', stderr: 'reprise: goal goal_01jd3v8k2m7q9x4w5y6z7a8b9c not found (NOT_FOUND, HTTP 404)\n' });
  });

  it('says what to do without a token (401), and names an unreachable URL', async () => {
    const res = await cli(['goal', 'list'], { REPRISE_TOKEN: undefined });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^reprise: .+ \(UNAUTHENTICATED, HTTP 401\)\nhint: no token was sent to http:\/\/127\.0\.0\.1:\d+: set REPRISE_TOKEN/);
    const closed = await freePort();
    const down = await cli(['goal', 'list', '--url', `http://127.0.0.1:${closed}`]);
    expect([down.code, down.stderr]).toEqual([1, expect.stringContaining(`cannot reach the Reprise API at http://127.0.0.1:${closed} (ECONNREFUSED)`)]);
  });

  it("uses the local token file's token only for the URL it was written for", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-cli-local-'));
    const file = path.join(dataDir, 'local-admin-token.json');
    writeFileSync(file, JSON.stringify({ url: `${api.url}/`, token: api.token, token_id: 'tok_x', created_at: new Date().toISOString() }), { mode: 0o644 });
    const local = { REPRISE_DATA_DIR: dataDir, REPRISE_URL: undefined, REPRISE_TOKEN: undefined };
    // A file others may read (as one that came with a checkout would be) is not trusted.
    const loose = await cli(['goal', 'list', '--limit', '1', '--url', api.url], local);
    expect([loose.code, loose.stderr]).toEqual([1, expect.stringContaining(`(UNAUTHENTICATED, HTTP 401)\nhint: the local token file ${file} was ignored: others can read or change it (mode 0644), so its token is not trusted; if it is yours, run: chmod 600 ${file}\n`)]);
    // Without --url the file's URL is not followed either: the API is then looked for at the default, and the hint says why.
    const elsewhere = await cli(['goal', 'list', '--limit', '1'], { ...local, REPRISE_URL: 'http://127.0.0.1:1' });
    expect([elsewhere.code, elsewhere.stderr]).toEqual([1, expect.stringMatching(/^reprise: cannot reach the Reprise API at http:\/\/127\.0\.0\.1:1 .*\nhint: the local token file .* was ignored: .*chmod 600 /)]);
    chmodSync(file, 0o600);
    expect((await json(['goal', 'list', '--limit', '1'], local)).items).toHaveLength(1);
    // The same server under another name is another URL: the secret is not sent there.
    const other = api.url.replace('127.0.0.1', 'localhost');
    const refused = await cli(['goal', 'list', '--url', other], local);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining(`(UNAUTHENTICATED, HTTP 401)\nhint: no token was sent to ${other}: the local token file ${dataDir}/local-admin-token.json is for ${api.url}/`)]);
    // A token the caller gives never follows the file's URL: a planted file cannot collect it.
    let trapped = 0;
    const trap = createServer((_req, res) => {
      trapped += 1;
      res.end('{}');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    try {
      writeFileSync(file, JSON.stringify({ url: `http://127.0.0.1:${(trap.address() as AddressInfo).port}`, token: api.token, token_id: 'tok_x', created_at: new Date().toISOString() }), { mode: 0o600 });
      await cli(['goal', 'list', '--limit', '1'], { ...local, REPRISE_TOKEN: api.token });
      expect(trapped).toBe(0);
      // With the file's own token, its URL is the default (that is the quickstart).
      await cli(['goal', 'list', '--limit', '1'], local);
      expect(trapped).toBe(1);
    } finally {
      trap.close();
    }
  });

  it('exits 2 on a usage error and shows examples in --help', async () => {
    const usage = await cli(['schedule', 'add', '--workflow', 'wf_01jd3v8k2m7q9x4w5y6z7a8b9c', '--every', '1h', '--cron', '* * * * *']);
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining("option '--cron <expr>' cannot be used with option '--every <interval>'")]);
    const window = await cli(['schedule', 'add', '--workflow', 'wf_01jd3v8k2m7q9x4w5y6z7a8b9c', '--every', '1h', '--catchup', '30d']);
    expect([window.code, window.stderr]).toEqual([2, expect.stringContaining('longer than 7 days')]);
    // Ids are checked before any request: `.` would otherwise reach the list route.
    for (const id of ['.', '..', '']) {
      const bad = await cli(['--json', 'goal', 'show', id]);
      expect([id, bad.code, bad.stdout]).toEqual([id, 2, '']);
    }
    const past = await cli(['token', 'create', '--user', 'x', '--expires', '2001-01-01T00:00:00Z']);
    expect([past.code, past.stderr]).toEqual([2, expect.stringContaining('expected a time in the future')]);
    const help = await cli(['workflow', 'run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:\n  $ reprise workflow run wf_');
    expect(help.stdout).toContain('--json');
    const root = await cli(['--help']);
    expect(root.stdout).toMatch(/Exit codes:\n\s+0\s+success/);
  });
});

describe('a reader that goes away (| head -1)', () => {
  it('stops writing and exits 0, with no stack, when stdout is closed after the first line', async () => {
    // A goal whose JSON (its action's env) is several times a pipe's buffer (64 KiB): the CLI is still writing when the reader goes.
    const env = Object.fromEntries(Array.from({ length: 16 }, (_v, i) => [`BIG_${i}`, 'x'.repeat(16_000)]));
    const big = await json(['goal', 'create', '--file', writeJson(`${unique('big')}.json`, { title: 'Big', start: false, action: { runtime: 'shell', command: 'true', env } })]);
    const res = await cliIntoClosingReader(['--json', 'goal', 'show', big.id]);
    expect(res).toEqual({ code: 0, signal: null, stdout: '{', stderr: '' });
  });

  it('exits with the code it had when stderr is closed', async () => {
    // Two goals at least exist by now: a page of one prints `more: add --cursor …` on stderr.
    await json(['goal', 'create', '--title', 'One more', '--command', 'true', '--no-start']);
    const listed = await cliIntoClosingReader(['goal', 'list', '--limit', '1'], { closeStderr: true });
    expect([listed.code, listed.signal, listed.stdout]).toEqual([0, null, expect.stringMatching(/^ID\s+KIND/)]);
    const refused = await cliIntoClosingReader(['goal', 'show', 'goal_01jd3v8k2m7q9x4w5y6z7a8b9c'], { closeStderr: true });
    expect([refused.code, refused.signal]).toEqual([1, null]);
  });
});

describe('token create (straight to the database) and revoke', () => {
  it('mints a working secret, which stops working once revoked', async () => {
    const db = { DATABASE_URL: testEnv.databaseUrl, REPRISE_TOKEN: undefined, REPRISE_URL: undefined };
    const user = unique('cli-user');
    const admin = await json(['token', 'create', '--user', user, '--name', 'cli admin', '--scope', 'admin'], db);
    expect(admin.token).toMatchObject({ name: 'cli admin', scopes: ['admin'], owner: { type: 'user' }, revoked_at: null });
    expect(admin.secret).toMatch(/^rpr_/);
    // Without --json: the secret alone on stdout, the warning on stderr.
    const reader = await cli(['token', 'create', '--user', user, '--scope', 'goals:read'], db);
    expect(reader.code).toBe(0);
    expect(reader.stdout).toMatch(/^rpr_[A-Za-z0-9_-]{43}\n$/);
    expect(reader.stderr).toContain('will not be shown again');
    const readerSecret = reader.stdout.trim();

    expect((await json(['goal', 'list'], { REPRISE_TOKEN: readerSecret })).items).toEqual([]);
    const forbidden = await cli(['workflow', 'list'], { REPRISE_TOKEN: readerSecret });
    expect([forbidden.code, forbidden.stderr]).toEqual([1, expect.stringMatching(/\(FORBIDDEN, HTTP 403\)/)]);

    const tokens = await json(['token', 'list'], { REPRISE_TOKEN: admin.secret });
    const readerToken = tokens.items.find((t: TJson) => t.scopes.join() === 'goals:read');
    expect(readerToken).toMatchObject({ owner: { type: 'user', id: admin.token.owner.id }, revoked_at: null });
    const revoked = await json(['token', 'revoke', readerToken.id], { REPRISE_TOKEN: admin.secret });
    expect(revoked.revoked_at).not.toBeNull();
    const dead = await cli(['goal', 'list'], { REPRISE_TOKEN: readerSecret });
    expect([dead.code, dead.stderr]).toEqual([1, expect.stringMatching(/\(UNAUTHENTICATED, HTTP 401\)/)]);
  });

  it('takes --user as an existing user\'s id or name, and never makes a user of an id that matches none', async () => {
    const db = { DATABASE_URL: testEnv.databaseUrl, REPRISE_TOKEN: undefined, REPRISE_URL: undefined };
    for (const user of ['user_local', 'local']) {
      const minted = await cli(['token', 'create', '--user', user, '--scope', 'goals:read'], db);
      expect([user, minted.code, minted.stderr]).toEqual([user, 0, expect.stringContaining('for user local (user_local), scopes: goals:read')]);
    }
    const typo = await cli(['token', 'create', '--user', 'user_locla'], db);
    expect([typo.code, typo.stderr]).toEqual([1, expect.stringMatching(/^reprise: no user has the id "user_locla"; --user takes an existing user's id or name \(the local user is id user_local, name local\).*\(NOT_FOUND\)\n$/)]);
    expect(await prisma.user.count({ where: { name: { in: ['user_local', 'user_locla'] } } })).toBe(0);
    // A new name still makes a new user, said so; its id then names it too.
    const name = unique('cli-new');
    const fresh = await cli(['token', 'create', '--user', name, '--json'], db);
    const owner = (JSON.parse(fresh.stdout) as TJson).token.owner.id as string;
    const again = await cli(['token', 'create', '--user', owner], db);
    expect([again.code, again.stderr]).toEqual([0, expect.stringContaining(`for user ${name} (${owner}), scopes:`)]);
    expect(await prisma.user.count({ where: { OR: [{ name }, { name: owner }] } })).toBe(1);
  });

  it('manages agents: create, list, show, update, delete, with usage errors before any request', async () => {
    const name = unique('cli-agent');
    const created = await json(['agent', 'create', name, '--runtime', 'http', '--runtime', 'manual', '--max-depth', '3', '--parallelism', '5']);
    expect(created).toMatchObject({ name, allowed_runtimes: ['http', 'manual'], max_depth: 3, max_children: 100, max_goals: 1000, default_parallelism: 5 });

    const listed = await cli(['agent', 'list', '--limit', '200']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+RUNTIMES\s+DEPTH\s+CHILDREN\s+GOALS\s+PARALLELISM\s+CREATED$/);
    expect(listed.stdout).toMatch(new RegExp(`^${created.id}\\s+${name}\\s+http manual\\s+3\\s+100\\s+1000\\s+5\\s`, 'm'));

    const shown = await cli(['agent', 'show', created.id]);
    expect(shown.stdout).toMatch(/runtimes\s+http manual/);
    // By name, as token create --agent takes it.
    expect((await json(['agent', 'show', name])).id).toBe(created.id);
    expect(await json(['agent', 'update', name, '--max-children', '7'])).toMatchObject({ id: created.id, max_children: 7 });

    const updated = await json(['agent', 'update', created.id, '--runtime', 'shell', '--max-goals', '50']);
    expect(updated).toMatchObject({ allowed_runtimes: ['shell'], max_goals: 50, max_depth: 3 });

    // Usage errors (exit 2) before any request: an unknown runtime, nothing to change, a bad name.
    const badRuntime = await cli(['agent', 'create', unique('x'), '--runtime', 'ssh']);
    expect([badRuntime.code, badRuntime.stderr]).toEqual([2, expect.stringContaining('expected one of shell, http, manual, agent')]);
    const nothing = await cli(['agent', 'update', created.id]);
    expect([nothing.code, nothing.stderr]).toEqual([2, expect.stringContaining('give at least one of')]);
    const badName = await cli(['agent', 'create', 'agent_x']);
    expect([badName.code, badName.stderr]).toEqual([2, expect.stringContaining('an agent name is')]);

    expect(await json(['agent', 'delete', created.id])).toEqual({ deleted: created.id });
    const gone = await cli(['agent', 'show', created.id]);
    expect([gone.code, gone.stderr]).toEqual([1, `reprise: agent ${created.id} not found (NOT_FOUND, HTTP 404)\n`]);
    // One in use is kept, naming why: here a live token made for it.
    const busy = await json(['agent', 'create', unique('cli-busy')]);
    const db = { DATABASE_URL: testEnv.databaseUrl, REPRISE_TOKEN: undefined, REPRISE_URL: undefined };
    expect((await cli(['token', 'create', '--agent', busy.name], db)).code).toBe(0);
    const kept = await cli(['agent', 'delete', busy.name]);
    expect([kept.code, kept.stderr]).toEqual([1, expect.stringMatching(new RegExp(`^reprise: agent ${busy.name} is in use by 1 live token; to delete it, first revoke its live tokens .*\\(CONFLICT, HTTP 409\\)\\n$`))]);
  }, 120_000);
});
