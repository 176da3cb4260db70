import type { Client } from '@temporalio/client';
import { pingDatabase, type PrismaClient } from '../../db/client';
import { withTimeout } from '../../lib/withTimeout';
import type { Logger } from '../../logger';
import { withDeadline } from '../../temporal/client';
import { defineRoute, type TAnyRoute } from '../route';
import { ZHealth, type THealthCheck } from './schemas';

const CHECK_TIMEOUT_MS = 2000;

const TIMED_OUT = `no answer within ${CHECK_TIMEOUT_MS}ms`;

/** One check: reachable or not, and how long it took. The driver's own error text stays in the log, never in the answer. */
async function timed(check: () => Promise<unknown>, onError: (err: unknown) => void): Promise<THealthCheck> {
  const started = Date.now();
  try {
    await withTimeout(check(), CHECK_TIMEOUT_MS, TIMED_OUT);
    return { ok: true, latency_ms: Date.now() - started };
  } catch (err) {
    onError(err);
    const timedOut = err instanceof Error && err.message === TIMED_OUT;
    return { ok: false, latency_ms: Date.now() - started, error: timedOut ? TIMED_OUT : 'unreachable' };
  }
}

export function healthRoutes(deps: { prisma: PrismaClient; temporal: Client; logger: Logger }): TAnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      summary: 'Reachability of Postgres and Temporal',
      tags: ['health'],
      scope: 'public',
      responses: {
        200: { description: 'Both reachable.', schema: ZHealth },
        503: { description: 'Something is down; `message` and `checks` say what.', schema: ZHealth },
      },
      handler: async () => {
        const [postgres, temporal] = await Promise.all([
          timed(
            () => pingDatabase(deps.prisma),
            (err) => deps.logger.warn({ err }, 'health: postgres check failed'),
          ),
          timed(
            () => withDeadline(deps.temporal, () => deps.temporal.connection.workflowService.getSystemInfo({}), CHECK_TIMEOUT_MS),
            (err) => deps.logger.warn({ err }, 'health: temporal check failed'),
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
