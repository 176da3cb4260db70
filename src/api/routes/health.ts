import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../../db/client';
import { withTimeout } from '../../lib/withTimeout';
import { defineRoute, type TAnyRoute } from '../route';
import { z } from '../zod';

const CHECK_TIMEOUT_MS = 2000;

const ZCheck = z.object({ ok: z.boolean(), latency_ms: z.number(), error: z.string().optional() });
export const ZHealth = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    message: z.string(),
    checks: z.object({ postgres: ZCheck, temporal: ZCheck }),
  })
  .openapi('Health');

async function timed(check: () => Promise<unknown>): Promise<z.infer<typeof ZCheck>> {
  const started = Date.now();
  try {
    await withTimeout(check(), CHECK_TIMEOUT_MS);
    return { ok: true, latency_ms: Date.now() - started };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, latency_ms: Date.now() - started, error: message.split('\n')[0]?.slice(0, 300) };
  }
}

export function healthRoutes(deps: { prisma: PrismaClient; temporal: Client }): TAnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      summary: 'Reachability of Postgres and Temporal',
      tags: ['health'],
      responses: {
        200: { description: 'Both reachable.', schema: ZHealth },
        503: { description: 'Something is down; `message` and `checks` say what.', schema: ZHealth },
      },
      handler: async () => {
        const [postgres, temporal] = await Promise.all([
          timed(() => deps.prisma.$queryRaw`SELECT 1`),
          timed(() =>
            deps.temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
              deps.temporal.connection.workflowService.getSystemInfo({}),
            ),
          ),
        ]);
        const down = [!postgres.ok && 'postgres', !temporal.ok && 'temporal'].filter(Boolean) as string[];
        return {
          status: down.length ? 503 : 200,
          body: {
            status: down.length ? 'unavailable' : 'ok',
            message: down.length ? `unreachable: ${down.join(', ')}` : 'postgres and temporal are reachable',
            checks: { postgres, temporal },
          },
        };
      },
    }),
  ];
}
