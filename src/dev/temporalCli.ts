import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Finds the Temporal CLI (`temporal server start-dev` is our dev server), and
 * builds it with Go where it is missing. Used by `npm start`, the test harness
 * and `.ci/run`, so all three run the same binary; nothing downloads one.
 *
 * Search order: TEMPORAL_CLI, then PATH, then Go's bin directory
 * (GOBIN, else $(go env GOPATH)/bin). The build goes to Go's bin directory, a
 * machine-level place, so later clones reuse it.
 */

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
/** The newest tag whose go.mod has no `replace` directive (installable by version). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export class TemporalCliError extends Error {
  readonly code = 'TEMPORAL_CLI_MISSING';
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The `go` binary: PATH, then the usual install location. */
export async function findGo(): Promise<string | undefined> {
  return (await findOnPath('go')) ?? ((await isExecutable('/usr/local/go/bin/go')) ? '/usr/local/go/bin/go' : undefined);
}

/** Go's bin directory: where `go install` puts binaries. */
async function goBinDir(go: string): Promise<string> {
  const { stdout } = await execFileAsync(go, ['env', 'GOBIN', 'GOPATH']);
  const [gobin, gopath] = stdout.split('\n').map((s) => s.trim());
  if (gobin) return gobin;
  return path.join((gopath ?? '').split(path.delimiter)[0] ?? '', 'bin');
}

/** Where the CLI is, without building it. */
export async function findTemporalCli(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const explicit = env.TEMPORAL_CLI;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new TemporalCliError(`TEMPORAL_CLI is set to ${explicit}, which is not an executable file.`);
  }
  const onPath = await findOnPath('temporal', env.PATH);
  if (onPath) return onPath;
  const go = await findGo();
  if (go) {
    const candidate = path.join(await goBinDir(go), 'temporal');
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Where the CLI is, building it with Go first if it is missing. */
export async function ensureTemporalCli(
  options: { env?: NodeJS.ProcessEnv; log?: (message: string) => void } = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((m: string) => console.error(m));
  const found = await findTemporalCli(env);
  if (found) return found;

  const go = await findGo();
  if (!go) {
    throw new TemporalCliError(
      [
        'The Temporal CLI (which runs the local Temporal server and Web UI) was not found,',
        'and Go is not installed to build it. Do one of:',
        `  - install Go (https://go.dev/dl/), then run: go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`,
        '  - install the Temporal CLI another way and put `temporal` on PATH, or set TEMPORAL_CLI=/path/to/temporal',
        '  - point Reprise at a running Temporal server with TEMPORAL_ADDRESS=host:7233',
      ].join('\n'),
    );
  }
  const binDir = await goBinDir(go);
  log(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${binDir}.\n` +
      'This happens once per machine and takes about 3-6 minutes (Go downloads and compiles the server); later runs reuse it.',
  );
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...env, GOFLAGS: env.GOFLAGS ?? '-mod=mod' },
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new TemporalCliError(`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} failed with exit code ${code}`)),
    );
  });
  const built = path.join(binDir, 'temporal');
  if (!(await isExecutable(built))) {
    throw new TemporalCliError(`go install reported success but ${built} is not there`);
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)}s: ${built}`);
  return built;
}

/** `temporal --version` output, e.g. "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)". */
export async function temporalCliVersion(cli: string): Promise<string> {
  const { stdout } = await execFileAsync(cli, ['--version']);
  return stdout.trim();
}
