import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createApp } from '../../src/api/app';
import { createTemporalClient } from '../../src/temporal/client';
import { testEnv, testPrisma } from '../support/env';

/** Request logs never carry credentials. */
describe('request logs', () => {
  it('redact authorization and cookie headers', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const prisma = testPrisma();
    const temporal = createTemporalClient(testEnv.temporalAddress, 'default');
    const { app } = createApp({ prisma, temporal, logger: pino({ level: 'debug' }, sink), taskQueue: 'unused', bodyLimit: '1mb', temporalUi: { baseUrl: undefined, namespace: 'default' } });
    const server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/api/goals/nope`, { headers: { authorization: 'Bearer secret-token-123', cookie: 'session=hunter2' } });
      expect(res.status).toBe(401); // a made-up token: refused before the id is looked at
      await new Promise((r) => setTimeout(r, 50));
      expect(logged).toContain('/api/goals/nope');
      expect(logged).not.toContain('secret-token-123');
      expect(logged).not.toContain('hunter2');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await temporal.connection.close();
      await prisma.$disconnect();
    }
  });
});
