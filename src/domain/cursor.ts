import { DomainError } from './errors';
import { idPattern, type TIdPrefix } from './ids';

/**
 * The cursor of a list ordered newest first by (created_at, id): the last
 * row's position, opaque to callers. Every list (goals today; workflows, runs
 * and schedules next) uses this codec, so a cursor is only ever what the API
 * itself returned.
 */
export interface TCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: TCursor): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

/** Decodes a cursor of rows with ids of `prefix` (or matching `pattern`); anything else is VALIDATION_FAILED. */
export function decodeCursor(cursor: string, prefix: TIdPrefix | RegExp): TCursor {
  const pattern = prefix instanceof RegExp ? prefix : idPattern(prefix);
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  // Only what encodeCursor makes: an ISO timestamp that round-trips, and an id.
  const year = createdAt.getUTCFullYear();
  if (rest.length || !id || !pattern.test(id) || Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at || year < 2000 || year > 9999) {
    throw new DomainError('VALIDATION_FAILED', 'cursor is not one this API returned');
  }
  return { createdAt, id };
}
