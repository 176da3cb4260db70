import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../src/domain/searchAttributes';
import { spawnManaged, waitUntilReady } from '../../src/dev/managedProcess';
import { ensureSearchAttributes } from '../../src/temporal/namespace';
import { testEnv } from '../support/env';
import { freePort } from '../support/ports';

/** An external Temporal starts without our search attributes; start-up registers them once. */
describe('ensureSearchAttributes', () => {
  it('registers missing attributes on a bare server, then is a no-op', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    // A dev server started without --search-attribute stands in for an external cluster.
    const server = spawnManaged('temporal', testEnv.temporalCli, [
      'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
      '--http-port', String(await freePort()), '--metrics-port', String(await freePort()), '--log-level', 'error',
    ]);
    try {
      await waitUntilReady(server, async () => {
        const c = await Connection.connect({ address, connectTimeout: 1000 });
        await c.close();
        return true;
      }, 60_000, 'bare dev server');

      const added = await ensureSearchAttributes(address, 'default');
      expect(added.sort()).toEqual(SEARCH_ATTRIBUTES.map((sa) => sa.name).sort());
      expect(await ensureSearchAttributes(address, 'default')).toEqual([]);

      const c = await Connection.connect({ address });
      const { customAttributes } = await c.operatorService.listSearchAttributes({ namespace: 'default' });
      await c.close();
      for (const sa of SEARCH_ATTRIBUTES) expect(Object.keys(customAttributes ?? {})).toContain(sa.name);
    } finally {
      await server.stop();
    }
  });
});
