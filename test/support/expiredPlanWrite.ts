// Run by test/integration/materialize.test.ts in a process of its own (jest
// keeps unhandled rejections from ending its workers): writes a plan of more
// rows than one statement carries under a goal (argv[2]) in a transaction
// that has expired, and says how the write failed. An unhandled rejection
// ends this process with code 1, as it would end a worker or the API.
import { createPrisma } from '../../src/db/client';
import { insertPlanRows } from '../../src/db/planRows';
import type { TPlan } from '../../src/domain/plans';

async function main(): Promise<void> {
  const prisma = createPrisma(process.env.DATABASE_URL ?? '', { poolSize: 2, queryTimeoutMs: 10_000 });
  const root = await prisma.goal.findUniqueOrThrow({ where: { id: process.argv[2] ?? '' } });
  const plan: TPlan = {
    children: Array.from({ length: 2_100 }, (_, i) => ({ key: `many${i}`, kind: 'leaf' as const, title: `Leaf ${i}`, action: { runtime: 'shell' as const, command: 'true' } })),
    edges: [],
  };
  try {
    await prisma.$transaction(
      async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await insertPlanRows(tx, root, plan);
      },
      { timeout: 100 },
    );
    console.log('written');
  } catch (err) {
    console.log(`failed: ${(err as { code?: string }).code ?? ''} ${(err as Error).message.trim().split('\n')[0] ?? ''}`);
  }
  // Time for a stray rejection to surface.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await prisma.$disconnect();
}

void main();
