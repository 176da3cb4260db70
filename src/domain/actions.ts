import { z } from 'zod';

/**
 * What a leaf does: a runtime and its parameters (SPEC §2 "Leaves").
 * The Foundation stage runs `shell`; the other runtimes arrive with the engine.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ZShellAction = z
  .object({
    runtime: z.literal('shell'),
    command: z.string().min(1, 'command must not be empty').max(16_384),
    /** Seconds before the command is killed and the leaf counts as timed out. */
    timeout_s: z.number().int().positive().max(7 * 24 * 3600).optional(),
    /** Extra attempts after a failed one (non-zero exit or timeout). */
    retries: z.number().int().min(0).max(20).optional(),
    /** Environment variables for the command: the only way inputs reach it. */
    env: z
      .record(z.string().regex(ENV_NAME, 'environment variable names must match [A-Za-z_][A-Za-z0-9_]*'), z.string().max(16_384))
      .optional(),
  })
  .strict();

export const ZAction = z.discriminatedUnion('runtime', [ZShellAction]);

export type TShellAction = z.infer<typeof ZShellAction>;
export type TAction = z.infer<typeof ZAction>;
export type TRuntime = TAction['runtime'];

/** Activity options the workflow derives from an action (pure; used inside workflows). */
export interface TLeafRunOptions {
  runtime: TRuntime;
  timeoutS: number;
  retries: number;
}

export function leafRunOptions(action: TAction, defaultTimeoutS: number): TLeafRunOptions {
  return { runtime: action.runtime, timeoutS: action.timeout_s ?? defaultTimeoutS, retries: action.retries ?? 0 };
}
