import { z } from '../domain/zod';

/**
 * Query parameters every list shares. `limit` is plain decimal digits:
 * `2e2`, `0x10`, ` 5` or `5.0` are 400s, not numbers JavaScript happens to
 * read.
 */
export function ZLimit(max: number, fallback: number) {
  return z
    .string()
    .regex(/^[0-9]{1,6}$/, `limit is a whole number from 1 to ${max}, in plain digits`)
    .transform(Number)
    .pipe(z.number().int().min(1, `limit is at least 1`).max(max, `limit is at most ${max}`))
    .optional()
    .transform((n) => n ?? fallback)
    .openapi({ description: `Page size, 1-${max} (default ${fallback}).`, type: 'integer' });
}

export const ZCursorParam = z.string().max(200).optional().openapi({ description: 'The `next_cursor` of the previous page.' });
