import { z } from 'zod';
import { LEAF_TIMEOUT_MAX_S } from './execution';
import { RUNTIMES, type TRuntime, type TWorkerRuntime } from './runtimes';

export { isRuntime, RUNTIME_NAMES, RUNTIMES, type TOutsideWait, type TRuntime, type TRuntimeTraits, type TWorkerRuntime } from './runtimes';

/**
 * What a leaf does: a runtime and its parameters (SPEC §2 "Leaves").
 * Every runtime takes `timeout_s` (then the leaf ends `timed_out`) and
 * `retries` (extra attempts after a failed one).
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** What an HTTP header value may not hold (RFC 9110 §5.5: CR, LF and NUL are never valid in a field value). */
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;
/** What a header value may hold at all: Latin-1 (fetch sends values as ByteStrings; anything above U+00FF fails the request). */
const HEADER_VALUE_NOT_LATIN1 = /[\u0100-\u{10ffff}]/u;

const common = {
  /** Seconds before the leaf is stopped and counts as timed out. */
  timeout_s: z.number().int().positive().max(LEAF_TIMEOUT_MAX_S).optional(),
  /** Extra attempts after a failed one. */
  retries: z.number().int().min(0).max(20).optional(),
};

/** Environment variables or headers one action may set: bounded, so a request (and its error) stays small. */
const MAX_ENTRIES = 100;

/** The methods an http action may use. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const ZShellAction = z
  .object({
    runtime: z.literal('shell'),
    command: z.string().min(1, 'command must not be empty').max(16_384),
    /** Environment variables for the command: the only way inputs reach it. */
    env: z
      .record(z.string().max(128).regex(ENV_NAME, 'environment variable names must match [A-Za-z_][A-Za-z0-9_]*'), z.string().max(16_384))
      .refine((env) => Object.keys(env).length <= MAX_ENTRIES, `at most ${MAX_ENTRIES} environment variables`)
      .optional(),
    ...common,
  })
  .strict();

export const ZHttpAction = z
  .object({
    runtime: z.literal('http'),
    method: z.enum(HTTP_METHODS).default('GET'),
    url: z
      .string()
      .max(8192, 'url is at most 8192 characters')
      .url('url must be an absolute http(s) URL')
      .refine((u) => /^https?:\/\//i.test(u), 'url must be an absolute http(s) URL'),
    headers: z
      .record(z.string(), z.string().max(8192))
      .refine((h) => Object.keys(h).length <= MAX_ENTRIES, `at most ${MAX_ENTRIES} headers`)
      .superRefine((h, ctx) => {
        for (const [name, value] of Object.entries(h)) {
          if (name.length > 256 || !HEADER_NAME.test(name)) {
            const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
            ctx.addIssue({ code: 'custom', path: [name], message: `header ${shown}: a header name must be an HTTP token of 1 to 256 characters (letters, digits and !#$%&'*+.^_\`|~-)` });
            continue;
          }
          // A line break in a value would end the header and start another (header or request splitting).
          if (HEADER_VALUE_FORBIDDEN.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: `header ${name}: a header value must not contain a line break (CR, LF) or NUL` });
          const wide = HEADER_VALUE_NOT_LATIN1.exec(value);
          if (wide) {
            const code = `U+${(wide[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
            ctx.addIssue({ code: 'custom', path: [name], message: `header ${name}: a header value may hold only Latin-1 characters (U+0000 to U+00FF); it holds ${code}` });
          }
        }
      })
      .optional(),
    /** A string is sent as is; anything else as JSON. */
    body: z.unknown().optional(),
    /** Statuses that count as success; default: any 2xx. */
    success_status: z.array(z.number().int().min(100).max(599)).min(1).max(100).optional(),
    ...common,
  })
  .strict();

export const ZManualAction = z
  .object({
    runtime: z.literal('manual'),
    /** What the person completing it should do. */
    instructions: z.string().max(10_000).optional(),
    ...common,
  })
  .strict();

export const ZAgentAction = z
  .object({
    runtime: z.literal('agent'),
    /** What the claiming agent should do. */
    task: z.string().max(10_000).optional(),
    /** Default lease an agent gets when it claims the leaf (it renews before expiry). */
    lease_s: z.number().int().min(5).max(24 * 3600).optional(),
    ...common,
  })
  .strict();

export const ZAction = z.discriminatedUnion('runtime', [ZShellAction, ZHttpAction, ZManualAction, ZAgentAction]);

/**
 * A stored action read back (a saved workflow's frozen plan): the shapes the
 * runtimes rely on, without ZAction's limits, patterns or defaults, so an
 * action saved before a limit tightened still reads (domain/frozenPlans.ts).
 */
const storedCommon = { timeout_s: z.number().optional(), retries: z.number().optional() };

export const ZStoredAction = z.discriminatedUnion('runtime', [
  z.looseObject({ runtime: z.literal('shell'), command: z.string(), env: z.record(z.string(), z.string()).optional(), ...storedCommon }),
  z.looseObject({
    runtime: z.literal('http'),
    method: z.enum(HTTP_METHODS),
    url: z.string(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional(),
    success_status: z.array(z.number()).optional(),
    ...storedCommon,
  }),
  z.looseObject({ runtime: z.literal('manual'), instructions: z.string().optional(), ...storedCommon }),
  z.looseObject({ runtime: z.literal('agent'), task: z.string().optional(), lease_s: z.number().optional(), ...storedCommon }),
]);

export type TShellAction = z.infer<typeof ZShellAction>;
export type THttpAction = z.infer<typeof ZHttpAction>;
export type TAction = z.infer<typeof ZAction>;
export type TAgentAction = z.infer<typeof ZAgentAction>;

/** The schemas and the runtime registry (domain/runtimes) name the same runtimes: a new one needs both. */
const _sameRuntimes: [TAction['runtime'], TRuntime] extends [TRuntime, TAction['runtime']] ? true : false = true;

/** An action the worker runs (shell, http: as registered in RUNTIMES). */
export type TWorkerAction = Extract<TAction, { runtime: TWorkerRuntime }>;

export function isWorkerAction(action: TAction): action is TWorkerAction {
  const runtime = RUNTIMES[action.runtime];
  return runtime.executedBy === 'worker';
}
export const DEFAULT_AGENT_LEASE_S = 300;
