import { TERMINAL_LIFECYCLES } from '../domain/goals';
import { Prisma } from './generated/prisma/client';

/**
 * `WITH RECURSIVE subtree AS (…)`: the goal and every goal below it, for
 * statements that end a whole subtree at once (cancel, fail, skip). Use as
 * `prisma.$executeRaw\`${subtree(id)} UPDATE goals … WHERE id IN (SELECT id FROM subtree)\``.
 * With `includeRoot: false` only the goals below it.
 */
export function subtree(goalId: string, options: { includeRoot?: boolean } = {}): Prisma.Sql {
  const start = options.includeRoot === false ? Prisma.sql`SELECT id FROM goals WHERE parent_id = ${goalId}` : Prisma.sql`SELECT id FROM goals WHERE id = ${goalId}`;
  return Prisma.sql`WITH RECURSIVE subtree AS (${start} UNION ALL SELECT g.id FROM goals g JOIN subtree s ON g.parent_id = s.id)`;
}

/** SQL that matches goals still running or waiting (not in a terminal lifecycle). */
// Built from the one list of terminal lifecycles (constants, never input), as literals the planner sees.
export const UNFINISHED = Prisma.raw(`lifecycle NOT IN (${TERMINAL_LIFECYCLES.map((l) => `'${l}'`).join(', ')})`);
