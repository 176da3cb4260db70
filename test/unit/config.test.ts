import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, DEFAULT_MAX_CACHED_WORKFLOWS, DEFAULT_WORKER_HEAP_MB, loadConfig, temporalAddress, temporalUiLinkBase, temporalUiUrl, workerNodeArgs } from '../../src/config';

describe('loadConfig', () => {
  it('gives every setting a default, and runs embedded services when no URLs are set', () => {
    const config = loadConfig({}, '/srv/reprise');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporal.address).toBeUndefined();
    expect(temporalAddress(config)).toBe('127.0.0.1:7233');
    expect(temporalUiUrl(config)).toBe('http://localhost:8233');
    expect(config.api).toEqual({ host: '127.0.0.1', port: 3000, bodyLimit: '1mb' });
    expect(config.dataDir).toBe('/srv/reprise/.data');
  });

  it('gives the engine and worker settings their defaults and bounds', () => {
    const config = loadConfig({});
    expect(config.engine).toEqual({ planRecheckS: 600, historyLimit: 4000, infraRetryHours: 24 });
    expect(loadConfig({ INFRA_RETRY_HOURS: '0.5' }).engine.infraRetryHours).toBe(0.5);
    expect(() => loadConfig({ INFRA_RETRY_HOURS: '0' })).toThrow(/INFRA_RETRY_HOURS: must be more than 0/);
    expect(config.worker).toEqual({ maxConcurrentActivities: 20, maxConcurrentWorkflowTasks: 4, maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS, heapMb: DEFAULT_WORKER_HEAP_MB, metricsAddress: undefined });
    expect(loadConfig({ ENGINE_HISTORY_LIMIT: '60', WORKER_METRICS_ADDRESS: '127.0.0.1:9464' })).toMatchObject({ engine: { historyLimit: 60 }, worker: { metricsAddress: '127.0.0.1:9464' } });
    expect(() => loadConfig({ ENGINE_HISTORY_LIMIT: '9000' })).toThrow(/ENGINE_HISTORY_LIMIT: must be at most 5000/);
    expect(loadConfig({}).schedules).toEqual({ catchupWindow: '1d', limits: { maxPerOwner: 100, minIntervalMs: 60_000, backfillMaxFires: 1000 } });
    expect(loadConfig({ SCHEDULE_CATCHUP_WINDOW: '6h' }).schedules.catchupWindow).toBe('6h');
    expect(loadConfig({ SCHEDULE_MAX_PER_OWNER: '5', SCHEDULE_MIN_INTERVAL: '5m', SCHEDULE_BACKFILL_MAX_FIRES: '20' }).schedules.limits).toEqual({ maxPerOwner: 5, minIntervalMs: 300_000, backfillMaxFires: 20 });
    expect(() => loadConfig({ SCHEDULE_MIN_INTERVAL: 'often' })).toThrow(/SCHEDULE_MIN_INTERVAL: must be an interval/);
    expect(() => loadConfig({ SCHEDULE_BACKFILL_MAX_FIRES: '0' })).toThrow(/SCHEDULE_BACKFILL_MAX_FIRES: must be at least 1/);
    expect(() => loadConfig({ SCHEDULE_CATCHUP_WINDOW: '30d' })).toThrow(/SCHEDULE_CATCHUP_WINDOW: must be a duration between 10s and 7d/);
    expect(() => loadConfig({ WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '1' })).toThrow(/WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: must be at least 2/);
  });

  it('bounds the workflow cache: a fixed size by default, 0 to turn it off, never fewer than the workflow-task slots', () => {
    expect(DEFAULT_MAX_CACHED_WORKFLOWS).toBeGreaterThanOrEqual(loadConfig({}).worker.maxConcurrentWorkflowTasks);
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '1000' }).worker.maxCachedWorkflows).toBe(1000);
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).worker.maxCachedWorkflows).toBe(0);
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '8', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '8' }).worker).toMatchObject({ maxCachedWorkflows: 8, maxConcurrentWorkflowTasks: 8 });
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '3' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be 0 \(no cache\) or at least WORKER_MAX_CONCURRENT_WORKFLOW_TASKS \(4\) \(got "3"\)/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '50', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '60' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '-1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be 0 \(no cache\) or more/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '200000' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be at most 100000/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be a whole number/);
  });

  it('caps the worker\'s V8 heap by default, or leaves Node\'s own with 0', () => {
    expect(workerNodeArgs(loadConfig({}))).toEqual([`--max-old-space-size=${DEFAULT_WORKER_HEAP_MB}`]);
    expect(workerNodeArgs(loadConfig({ WORKER_HEAP_MB: '1024' }))).toEqual(['--max-old-space-size=1024']);
    expect(workerNodeArgs(loadConfig({ WORKER_HEAP_MB: '0' }))).toEqual([]);
    expect(() => loadConfig({ WORKER_HEAP_MB: '64' })).toThrow(/WORKER_HEAP_MB: must be 0 \(Node's default\) or 128-65536 \(got "64"\)/);
    expect(() => loadConfig({ WORKER_HEAP_MB: '1.5' })).toThrow(/WORKER_HEAP_MB: must be a whole number of MB/);
  });

  it('uses external Temporal and Postgres when given', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/reprise', TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(config.databaseUrl).toBe('postgresql://u:p@db:5432/reprise');
    expect(temporalAddress(config)).toBe('temporal:7233');
    expect(temporalUiUrl(config)).toBeUndefined();
  });

  it.each([
    ['API_PORT', 'abc'],
    ['API_PORT', '70000'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['TEMPORAL_ADDRESS', 'no-port'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_POOL_SIZE', '0'],
    ['API_BODY_LIMIT', 'huge'],
    ['TEMPORAL_UI_LINKS', 'maybe'],
    ['LEAF_USER', '../root'],
  ])('rejects %s=%s, naming the variable and the value', (variable, value) => {
    let caught: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    expect(err.message).toContain(variable);
    expect(err.message).toContain(JSON.stringify(value.replace(/^([a-z]+:\/\/)[^@/]*@/, '$1***@')));
  });

  it('never echoes the credentials in a bad URL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgresq://app:S3cretPw@db/reprise' })).toThrow(/got "postgresq:\/\/\*\*\*@db\/reprise"/);
    expect(() => loadConfig({ DATABASE_URL: 'postgresq://app:S3cretPw@db/reprise' })).not.toThrow(/S3cretPw/);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ API_PORT: 'x', EMBEDDED_PG_PORT: 'y' })).toThrow(/API_PORT: must be a port number/);
    expect(() => loadConfig({ API_PORT: 'x', EMBEDDED_PG_PORT: 'y' })).toThrow(/EMBEDDED_PG_PORT: must be a port number/);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', API_PORT: '' }).api.port).toBe(3000);
  });

  it('compares real paths: a WORKSPACES_DIR that is a symbolic link into the data directory (or around it) is refused', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reprise-config-'));
    mkdirSync(path.join(root, '.data'));
    symlinkSync(path.join(root, '.data'), path.join(root, 'ws-link'));
    expect(() => loadConfig({ WORKSPACES_DIR: 'ws-link' }, root)).toThrow(/WORKSPACES_DIR: must be outside REPRISE_DATA_DIR .*through symbolic links/);
    // A directory not made yet, below a link: where it would be made counts.
    expect(() => loadConfig({ WORKSPACES_DIR: 'ws-link/not-yet/made' }, root)).toThrow(/must be outside REPRISE_DATA_DIR/);
    // A dangling link into the data directory (its target not made yet): where it points counts.
    symlinkSync(path.join(root, '.data', 'later'), path.join(root, 'dangling'));
    expect(() => loadConfig({ WORKSPACES_DIR: 'dangling/x' }, root)).toThrow(/must be outside REPRISE_DATA_DIR/);
    expect(() => loadConfig({ WORKSPACES_DIR: 'dangling' }, root)).toThrow(/must be outside REPRISE_DATA_DIR/);
    // A link to a parent of the data directory contains it.
    symlinkSync(root, path.join(root, 'up-link'));
    expect(() => loadConfig({ WORKSPACES_DIR: 'up-link', REPRISE_DATA_DIR: path.join(root, '.data') }, root)).toThrow(/WORKSPACES_DIR: must not contain REPRISE_DATA_DIR/);
    // A real directory beside it passes.
    expect(loadConfig({ WORKSPACES_DIR: 'workspaces' }, root).workspacesDir).toBe(path.join(root, 'workspaces'));
  });

  it('keeps leaf workspaces beside the data directory by default, and never inside it or around it', () => {
    expect(loadConfig({}, '/srv/reprise').workspacesDir).toBe('/srv/reprise/.workspaces');
    expect(loadConfig({ WORKSPACES_DIR: '/var/lib/reprise-workspaces' }, '/srv/reprise').workspacesDir).toBe('/var/lib/reprise-workspaces');
    expect(() => loadConfig({ WORKSPACES_DIR: '.data/workspaces' }, '/srv/reprise')).toThrow(/WORKSPACES_DIR: must be outside REPRISE_DATA_DIR \(\/srv\/reprise\/\.data\)/);
    expect(() => loadConfig({ WORKSPACES_DIR: '.data' }, '/srv/reprise')).toThrow(/WORKSPACES_DIR: must be outside REPRISE_DATA_DIR/);
    expect(() => loadConfig({ WORKSPACES_DIR: '/srv' }, '/srv/reprise')).toThrow(/WORKSPACES_DIR: must not contain REPRISE_DATA_DIR/);
    // A name that merely starts like the data directory is not inside it.
    expect(loadConfig({ WORKSPACES_DIR: '.data-workspaces' }, '/srv/reprise').workspacesDir).toBe('/srv/reprise/.data-workspaces');
  });

  it('runs leaf commands as the worker\'s own user unless LEAF_USER names another', () => {
    expect(loadConfig({}).leaf.user).toBeUndefined();
    expect(loadConfig({ LEAF_USER: 'reprise-leaf' }).leaf.user).toBe('reprise-leaf');
  });

  it('hands out Temporal Web UI links unless TEMPORAL_UI_LINKS=off', () => {
    expect(temporalUiLinkBase(loadConfig({}))).toBe('http://localhost:8233');
    expect(temporalUiLinkBase(loadConfig({ TEMPORAL_UI_LINKS: 'on', TEMPORAL_UI_URL: 'https://ui.example/' }))).toBe('https://ui.example');
    const off = loadConfig({ TEMPORAL_UI_LINKS: 'off', TEMPORAL_UI_URL: 'https://ui.example/' });
    expect(temporalUiLinkBase(off)).toBeUndefined();
    // Where the UI is stays known (npm start's banner shows it to the operator).
    expect(temporalUiUrl(off)).toBe('https://ui.example');
  });
});
