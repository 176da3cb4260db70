import { spawn } from 'node:child_process';
import type { Pool } from 'pg';

/** The baseline's leaf work: spawn `true`, then insert one row. */
export function createBareActivities(pool: Pool) {
  return {
    async bareLeaf(key: string): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        const child = spawn('true', [], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`true exited ${code}`))));
      });
      await pool.query('INSERT INTO bench_leaves (key) VALUES ($1)', [key]);
    },
  };
}

export type TBareActivities = ReturnType<typeof createBareActivities>;
