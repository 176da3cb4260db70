export default async function globalTeardown(): Promise<void> {
  const state = globalThis as unknown as { __repriseStops?: (() => Promise<void>)[] };
  for (const stop of [...(state.__repriseStops ?? [])].reverse()) {
    await stop().catch((err: unknown) => console.warn('teardown step failed:', err));
  }
}
