// `npm run temporal:ensure`: find the Temporal CLI, building it once with Go
// if it is missing, and print where it is (used by .ci/run).
import { ensureTemporalCli, temporalCliVersion } from './temporalCli';

ensureTemporalCli()
  .then(async (cli) => {
    console.log(`${cli}\n${await temporalCliVersion(cli)}`);
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
