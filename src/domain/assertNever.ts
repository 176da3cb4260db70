/**
 * The `never` check of an exhaustive switch over a closed set (runtimes,
 * lifecycles, run states…): `default: return assertNever(x)` compiles only
 * while every member has its case, so adding a member fails `tsc` at each
 * switch until it is handled. Reached at run time only by a value from
 * outside the types (a row or payload written by other code).
 */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
