import type { PrismaClient } from '../../src/db/client';
import { http, startTestApi, testPrisma, uniqueTaskQueue } from '../support/env';

describe('GET /healthz', () => {
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = testPrisma();
  });
  afterAll(async () => {
    await prisma.$disconnect();
  });

  it('is 200 when Postgres and Temporal answer', async () => {
    const api = await startTestApi(prisma, uniqueTaskQueue('health'));
    try {
      const res = await http('GET', `${api.url}/healthz`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', checks: { postgres: { ok: true }, temporal: { ok: true } } });
    } finally {
      await api.close();
    }
  });

  it('is 503 naming Temporal when Temporal is down', async () => {
    const api = await startTestApi(prisma, uniqueTaskQueue('health'), { temporalAddress: '127.0.0.1:1' });
    try {
      const res = await http('GET', `${api.url}/healthz`);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unavailable', message: 'unreachable: temporal', checks: { postgres: { ok: true }, temporal: { ok: false } } });
      // What is down, never the driver's own error text.
      expect(['unreachable', 'no answer within 2000ms']).toContain(res.body.checks.temporal.error);
    } finally {
      await api.close();
    }
  });

  it('is 503 naming Postgres when Postgres is down', async () => {
    const deadDb = testPrisma('postgresql://postgres:x@127.0.0.1:1/none');
    const api = await startTestApi(deadDb, uniqueTaskQueue('health'));
    try {
      const res = await http('GET', `${api.url}/healthz`);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ message: 'unreachable: postgres', checks: { postgres: { ok: false }, temporal: { ok: true } } });
    } finally {
      await api.close();
      await deadDb.$disconnect();
    }
  });
});
