import { z } from '../../domain/zod';

export const ZHealthCheck = z.object({ ok: z.boolean(), latency_ms: z.number(), error: z.string().optional() });

export const ZHealth = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    message: z.string(),
    checks: z.object({ postgres: ZHealthCheck, temporal: ZHealthCheck }),
  })
  .openapi('Health');

export type THealthCheck = z.infer<typeof ZHealthCheck>;
