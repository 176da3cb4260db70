import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type * as TTokenSerializers from '../../api/tokens/serializers';
import type * as TConfigModule from '../../config';
import type { components } from '../../generated/api';
import type * as TBootstrap from '../../main/bootstrap';
import type * as TTokenServices from '../../services/tokens';
import { isScope, SCOPES } from '../../domain/scopes';
import { PACKAGE_ROOT } from '../config';
import { cliContext, idArg, jsonMode, positiveInt } from '../context';
import { clip, example, note, printFields, printJson, printable, printNextPage, printTable, println, time, UsageError } from '../output';

/**
 * `reprise token …`. `create` is the operator's way in: it writes straight
 * to the database (DATABASE_URL, or the embedded Postgres of `npm start`),
 * so it works before any token exists. `list`, `show` and `revoke` go over
 * the API with an admin token.
 */

type TToken = components['schemas']['Token'];

/**
 * A module loaded when `token create` runs, not when the CLI starts: the HTTP
 * commands never load Prisma or the database layer. `require`, not
 * `import()`: the CLI runs as CommonJS under tsx's require hook
 * (bin/reprise.cjs), and an `import()` there goes to Node's ESM loader,
 * which has no TypeScript hook and cannot find `.ts` files.
 */
function lazy<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

function collectScope(value: string, previous: string[] = []): string[] {
  if (!isScope(value)) throw new InvalidArgumentError(`expected one of ${SCOPES.join(', ')}.`);
  return [...previous, value];
}

function parseExpiry(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) throw new InvalidArgumentError('expected an ISO-8601 time such as 2027-01-01T00:00:00Z.');
  if (at.getTime() <= Date.now()) throw new InvalidArgumentError('expected a time in the future.');
  return at;
}

function owner(t: TToken): string {
  return `${t.owner.type} ${t.owner.id}`;
}

function tokenState(t: TToken): string {
  if (t.revoked_at) return `revoked ${time(t.revoked_at)}`;
  if (t.expires_at && new Date(t.expires_at).getTime() <= Date.now()) return `expired ${time(t.expires_at)}`;
  return 'live';
}

function printToken(t: TToken): void {
  printFields([
    ['id', t.id],
    ['name', t.name],
    ['prefix', t.prefix],
    ['scopes', t.scopes.join(' ')],
    ['owner', owner(t)],
    ['state', tokenState(t)],
    ['created', time(t.created_at)],
    ['last used', time(t.last_used_at)],
    ['expires', t.expires_at ? time(t.expires_at) : 'never'],
  ]);
}

/**
 * The configuration `token create` opens the database with: the
 * environment as `npm start` reads it, except that without REPRISE_DATA_DIR
 * and without a `./.data`, the repository's own `.data` (its embedded
 * Postgres), so the command works from any directory.
 */
function databaseConfig() {
  const { loadConfig } = lazy<typeof TConfigModule>('../../config');
  const useRoot = !process.env.REPRISE_DATA_DIR && !existsSync(path.resolve('.data')) && existsSync(path.join(PACKAGE_ROOT, '.data'));
  return loadConfig(process.env, useRoot ? PACKAGE_ROOT : process.cwd());
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('Bearer tokens: create one (straight to the database), list and revoke them');
  token.addHelpText('after', example(['reprise token create --user alice --scope goals:read --scope goals:write', 'reprise token revoke tok_01jd3v8k2m7q9x4w5y6z7a8b9c']));

  token
    .command('create')
    .description('Create a token for a user (created if the name is new) or an agent, straight in the database; prints the secret once')
    .option('--user <id-or-name>', "the user it acts for, by id or name (the local user: user_local or local); a new name creates the user, with a default agent")
    .option('--agent <id-or-name>', 'the agent it acts for: a user\'s agent, made with the user (the local user\'s is agent_default)')
    .option('--name <name>', 'what it is for (default: "reprise token create")')
    .option('--scope <scope>', `a scope to grant (repeatable): ${SCOPES.join(', ')}; default: every scope but admin for a user, goals/workflows read+write and schedules:read for an agent (never admin)`, collectScope)
    .option('--expires <time>', 'when it stops working (ISO-8601); never, by default', parseExpiry)
    .addHelpText(
      'after',
      `${example([
        'reprise token create --user alice',
        'reprise token create --agent agent_default --name ci --scope workflows:read --scope workflows:write --expires 2027-01-01T00:00:00Z',
        'export REPRISE_TOKEN="$(reprise token create --user alice --scope admin)"',
      ])}
It connects to DATABASE_URL, or to the embedded Postgres that \`npm start\` runs
(from REPRISE_DATA_DIR, default ./.data, else this repository's .data; on the
port the running npm start recorded, else EMBEDDED_PG_PORT), and applies
pending migrations first. The secret goes to stdout, alone on its line;
everything else to stderr.
`,
    )
    .action(async (opts: { user?: string; agent?: string; name?: string; scope?: string[]; expires?: Date }, cmd: Command) => {
      if ((opts.user === undefined) === (opts.agent === undefined)) throw new UsageError('give exactly one of --user ID_OR_NAME or --agent ID_OR_NAME');
      const name = (opts.name ?? 'reprise token create').trim();
      if (!name || name.length > 100) throw new UsageError('--name is 1-100 characters');
      const json = jsonMode(cmd);
      const { openDirectDatabase } = lazy<typeof TBootstrap>('../../main/bootstrap');
      const { createTokenDirect } = lazy<typeof TTokenServices>('../../services/tokens');
      const { serializeToken } = lazy<typeof TTokenSerializers>('../../api/tokens/serializers');
      const config = databaseConfig();
      const database = await openDirectDatabase(config, (m) => note(m));
      let minted: Awaited<ReturnType<typeof createTokenDirect>>;
      try {
        minted = await createTokenDirect(database.prisma, opts.user !== undefined ? { user: opts.user } : { agent: opts.agent! }, { name, scopes: opts.scope, expiresAt: opts.expires ?? null });
      } finally {
        await database.prisma.$disconnect();
      }
      const created = serializeToken(minted.token);
      if (json) return printJson({ token: created, secret: minted.secret });
      const who = `${minted.owner.type} ${minted.owner.name} (${minted.owner.id}${minted.userCreated ? ', new' : ''})`;
      note(`Created token ${created.id} "${printable(created.name)}" for ${printable(who)}, scopes: ${created.scopes.join(' ')}${created.expires_at ? `, expires ${time(created.expires_at)}` : ''}.`);
      note('Its secret is below. It will not be shown again: store it now (e.g. export REPRISE_TOKEN=…).');
      println(minted.secret);
    });

  token
    .command('list')
    .description('List your tokens and your agents\', newest first (revoked ones included; admin scope)')
    .option('--limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'the next page, as the previous one printed it')
    .addHelpText('after', example(['reprise token list', 'reprise token list --json']))
    .action(async (opts: { limit?: number; cursor?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/tokens', { query: { limit: opts.limit, cursor: opts.cursor } });
      if (ctx.json) return printJson(res.body);
      printTable(
        ['id', 'name', 'prefix', 'scopes', 'owner', 'state', 'last used'],
        res.body.items.map((t) => [t.id, clip(t.name, 30), t.prefix, clip(t.scopes.join(' '), 50), owner(t), tokenState(t), time(t.last_used_at)]),
        '(no tokens)',
      );
      printNextPage(res.body.next_cursor);
    });

  token
    .command('show')
    .description('Show a token (never its secret; admin scope)')
    .argument('<id>', 'token id', idArg)
    .addHelpText('after', example(['reprise token show tok_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('get', '/api/tokens/{id}', { params: { id } });
      if (ctx.json) return printJson(res.body);
      printToken(res.body);
    });

  token
    .command('revoke')
    .description('Revoke a token: it stops working at once (admin scope)')
    .argument('<id>', 'token id', idArg)
    .addHelpText('after', example(['reprise token revoke tok_01jd3v8k2m7q9x4w5y6z7a8b9c']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd);
      const res = await ctx.client.call('delete', '/api/tokens/{id}', { params: { id } });
      if (ctx.json) return printJson(res.body);
      println(`Revoked token ${res.body.id} "${printable(res.body.name)}"`);
    });
}
