import { runStops } from '../../src/dev/scratchServices';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis as unknown as { __repriseStops?: (() => Promise<void>)[] };
  // Each tier's project has this teardown: the first to run stops everything, later ones find nothing left.
  await runStops(state.__repriseStops ?? [], (err) => console.warn('teardown step failed:', err));
}
