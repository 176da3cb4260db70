import type { Client } from '@temporalio/client';
import { pingDatabase, type PrismaClient } from '../../db/client';
import { withTimeout } from '../../lib/withTimeout';
import { withDeadline } from '../../temporal/client';
import { defineRoute, type TAnyRoute } from '../route';
import { ZHealth, type THealthCheck } from './schemas';

const CHECK_TIMEOUT_MS = 2000;

async function timed(check: () => Promise<unknown>): Promise<THealthCheck> {
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
          timed(() => pingDatabase(deps.prisma)),
          timed(() => withDeadline(deps.temporal, () => deps.temporal.connection.workflowService.getSystemInfo({}), CHECK_TIMEOUT_MS)),
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
