// `npm run db:migrate`: apply pending migrations to DATABASE_URL (or the
// embedded Postgres that `npm start` runs) and exit.
import { ConfigError, loadConfig } from '../config';
import { embeddedDatabaseUrl } from '../dev/embeddedPostgres';
import { migrate } from './migrate';

async function main(): Promise<void> {
  const config = loadConfig();
  const url = config.databaseUrl ?? (await embeddedDatabaseUrl(config));
  const result = await migrate(url, { log: (m) => console.log(m) });
  console.log(
    result.applied.length
      ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}`
      : `database is up to date (${result.alreadyApplied.length} migration(s) applied earlier)`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError || (err as { code?: string }).code === 'MIGRATION_FAILED' ? (err as Error).message : err);
  process.exit(1);
});
