import type { TWaitKind } from './goals';

/**
 * The leaf runtimes (SPEC §2 "Leaves") and who runs each, declared once:
 * the worker runs a `worker` runtime as an activity; an `outside` one is
 * completed through the API by someone outside Reprise while its goal waits
 * (`waitingFor`: a manual leaf for anyone's completion, an agent leaf in the
 * pool for an agent's claim). Every place that decides by runtime looks it up
 * here or switches over TRuntime, with an assertNever check either way, so a
 * new runtime fails `tsc` until each place handles it.
 *
 * Pure and zod-free: workflow code imports it (domain/actions builds the
 * schemas, which must name the same runtimes, and re-exports it).
 */

export const RUNTIME_NAMES = ['shell', 'http', 'manual', 'agent'] as const;
export type TRuntime = (typeof RUNTIME_NAMES)[number];

/** What an outside runtime's goal waits for while it is not completed. */
export type TOutsideWait = Extract<TWaitKind, 'completion' | 'agent'>;

export type TRuntimeTraits = { executedBy: 'worker' } | { executedBy: 'outside'; waitingFor: TOutsideWait };

export const RUNTIMES = {
  shell: { executedBy: 'worker' },
  http: { executedBy: 'worker' },
  manual: { executedBy: 'outside', waitingFor: 'completion' },
  agent: { executedBy: 'outside', waitingFor: 'agent' },
} as const satisfies Record<TRuntime, TRuntimeTraits>;

/** The runtimes the worker runs (as the runLeaf activity). */
export type TWorkerRuntime = { [K in TRuntime]: (typeof RUNTIMES)[K]['executedBy'] extends 'worker' ? K : never }[TRuntime];

export function isRuntime(value: unknown): value is TRuntime {
  return (RUNTIME_NAMES as readonly unknown[]).includes(value);
}
