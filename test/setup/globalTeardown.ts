export default async function globalTeardown(): Promise<void> {
  const state = globalThis as unknown as { __repriseStops?: (() => Promise<void>)[] };
  // Each tier's project has this teardown: the first to run stops everything, later ones find nothing left.
  const stops = (state.__repriseStops ?? []).splice(0);
  for (const stop of stops.reverse()) {
    await stop().catch((err: unknown) => console.warn('teardown step failed:', err));
  }
}
