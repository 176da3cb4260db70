// `npm run db:migrate`: apply pending migrations to DATABASE_URL (or the
// embedded Postgres that `npm start` runs) and exit.
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { resolveDatabaseUrl, runMain } from './bootstrap';

runMain(async () => {
  const config = loadConfig();
  const result = await migrate(await resolveDatabaseUrl(config), { log: (m) => console.log(m) });
  console.log(
    result.applied.length
      ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}`
      : `database is up to date (${result.alreadyApplied.length} migration(s) applied earlier)`,
  );
});
