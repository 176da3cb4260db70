import fc from 'fast-check';

/**
 * fast-check arbitraries derived from our OpenAPI 3.1 document (issue 16):
 * zod-fast-check speaks zod 3 only, and the document is generated from the
 * very zod schemas the routes validate with, so it is the contract to derive
 * from. Two families, for any JSON Schema of the document:
 * - `validArbitrary`: values that conform (valid-ish: `pattern` is a hint,
 *   not generated from, so an id or slug comes from `patternHints`, the
 *   schema's examples, or lowercase letters and digits);
 * - `hostileArbitrary`: a valid value with one mutation somewhere in it,
 *   each labelled (`how`) with where and what, so a failure reads as
 *   "body.action.timeout_s: above maximum 604800".
 * `requestArbitrary` puts them together for one operation: path params,
 * query pairs (repeats allowed) and a body, with at least one part mutated
 * when hostile.
 */

export interface TJsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, TJsonSchema>;
  required?: string[];
  additionalProperties?: boolean | TJsonSchema;
  enum?: unknown[];
  const?: unknown;
  oneOf?: TJsonSchema[];
  anyOf?: TJsonSchema[];
  allOf?: TJsonSchema[];
  items?: TJsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  format?: string;
  example?: unknown;
  examples?: unknown[];
  default?: unknown;
  description?: string;
}

export interface TSchemaContext {
  /** `components.schemas` of the document: what `#/components/schemas/X` refers to. */
  schemas: Record<string, TJsonSchema>;
  /** Strings known to satisfy a pattern (by the pattern's source), e.g. real ids of fixtures: used before anything else. */
  patternHints?: Record<string, readonly string[]>;
}

/** A hostile value and what was done to it. */
export interface THostile {
  value: unknown;
  how: string;
}

/** Valid-ish values stay small: a generated body is about its shape, not its bulk. */
const VALID_MAX_STRING = 24;
const VALID_MAX_ITEMS = 3;
const VALID_MAX_KEYS = 3;
/** Below this depth objects carry only their required properties and arrays their fewest items (recursive schemas: Plan). */
const VALID_MAX_DEPTH = 5;
/** How deep a mutation may go into a value before it mutates where it is. */
const HOSTILE_MAX_DEPTH = 8;

/** `{$ref}` → the schema it names; an unknown ref is a bug in the document, so it throws. */
export function resolveSchema(schema: TJsonSchema, ctx: TSchemaContext): TJsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref; hops++) {
    const match = /^#\/components\/schemas\/(.+)$/.exec(current.$ref);
    const target = match ? ctx.schemas[match[1]!] : undefined;
    if (!target || hops > 20) throw new Error(`unresolvable $ref ${current.$ref}`);
    const { $ref: _ref, ...siblings } = current;
    current = { ...target, ...siblings };
  }
  return current;
}

/** An `allOf` of object schemas (or a ref plus a description) as one schema. */
function mergeAllOf(parts: TJsonSchema[], ctx: TSchemaContext): TJsonSchema {
  const resolved = parts.map((p) => resolveSchema(p, ctx));
  const combinators = resolved.filter((p) => p.oneOf || p.anyOf || p.type || p.enum || p.const !== undefined || p.properties);
  // zod-to-openapi writes `allOf: [{$ref}, {description}]` for a described ref: the ref is the schema.
  if (combinators.length === 1) return { ...Object.assign({}, ...resolved), allOf: undefined } as TJsonSchema;
  const merged: TJsonSchema = { type: 'object', properties: {}, required: [] };
  for (const p of resolved) {
    Object.assign(merged.properties!, p.properties ?? {});
    merged.required!.push(...(p.required ?? []));
    if (p.additionalProperties === false) merged.additionalProperties = false;
  }
  return merged;
}

function typesOf(schema: TJsonSchema): string[] {
  if (schema.type) return Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.properties || schema.additionalProperties !== undefined) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

/** A JSON value of any kind, small. */
const anyJson = (): fc.Arbitrary<unknown> => fc.jsonValue({ maxDepth: 2 }).map((v) => v as unknown);

// ---------------------------------------------------------------- valid-ish

export function validArbitrary(schema: TJsonSchema, ctx: TSchemaContext, depth = 0): fc.Arbitrary<unknown> {
  const s = resolveSchema(schema, ctx);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.allOf) return validArbitrary(mergeAllOf(s.allOf, ctx), ctx, depth);
  const branches = s.oneOf ?? s.anyOf;
  if (branches) return fc.oneof(...branches.map((b) => validArbitrary(b, ctx, depth)));
  const types = typesOf(s);
  if (types.length === 0) return anyJson();
  // `["object", "null"]`: mostly the object, sometimes null.
  if (types.length > 1) return fc.oneof(...types.map((t) => validOfType(t, s, ctx, depth)));
  return validOfType(types[0]!, s, ctx, depth);
}

function validOfType(type: string, s: TJsonSchema, ctx: TSchemaContext, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : (s.minimum ?? 0);
      const max = s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : (s.maximum ?? Math.max(min, 0) + 1000);
      return type === 'integer' ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case 'string':
      return validString(s, ctx);
    case 'array': {
      const minItems = s.minItems ?? 0;
      if (depth >= VALID_MAX_DEPTH && minItems === 0) return fc.constant([]);
      const maxItems = Math.max(minItems, Math.min(s.maxItems ?? VALID_MAX_ITEMS, minItems + VALID_MAX_ITEMS));
      return fc.array(s.items ? validArbitrary(s.items, ctx, depth + 1) : anyJson(), { minLength: minItems, maxLength: maxItems });
    }
    case 'object':
      return validObject(s, ctx, depth);
    default:
      throw new Error(`unknown JSON Schema type ${type}`);
  }
}

function validString(s: TJsonSchema, ctx: TSchemaContext): fc.Arbitrary<string> {
  const minLength = s.minLength ?? 0;
  if (s.format === 'date-time') {
    return fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  // `.invalid` never resolves: a valid-ish http leaf that somehow ran would reach nobody.
  if (s.format === 'uri') return fc.constantFrom('https://reprise.invalid/', 'https://reprise.invalid/hook?x=1', 'http://reprise.invalid:8080/a/b');
  const hinted = s.pattern ? ctx.patternHints?.[s.pattern] : undefined;
  if (hinted?.length) return fc.constantFrom(...hinted);
  const examples = [...(s.examples ?? []), ...(s.example !== undefined ? [s.example] : [])].filter((e): e is string => typeof e === 'string');
  if (s.pattern && examples.length) return fc.constantFrom(...examples);
  const maxLength = Math.max(minLength, Math.min(s.maxLength ?? VALID_MAX_STRING, minLength + VALID_MAX_STRING));
  // Lowercase letters and digits: a hint that happens to satisfy our slug and key patterns.
  const unit = s.pattern ? fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789') : 'grapheme-ascii';
  const text = fc.string({ unit, minLength: Math.max(minLength, s.pattern ? 1 : 0), maxLength: Math.max(maxLength, 1) });
  // A required-non-empty text is meant to say something: our schemas trim before counting (titles).
  return minLength > 0 ? text.map((t) => (t.trim() ? t : 'x'.repeat(minLength))) : text;
}

function validObject(s: TJsonSchema, ctx: TSchemaContext, depth: number): fc.Arbitrary<unknown> {
  const properties = s.properties ?? {};
  const required = s.required ?? [];
  const names = Object.keys(properties).filter((name) => depth < VALID_MAX_DEPTH || required.includes(name));
  if (names.length === 0) {
    if (typeof s.additionalProperties === 'object') {
      const keys = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'), minLength: 1, maxLength: 12 });
      return fc.dictionary(keys, validArbitrary(s.additionalProperties, ctx, depth + 1), { maxKeys: depth < VALID_MAX_DEPTH ? VALID_MAX_KEYS : 0 });
    }
    return fc.constant({});
  }
  const model = Object.fromEntries(names.map((name) => [name, validArbitrary(properties[name]!, ctx, depth + 1)]));
  return fc.record(model, { requiredKeys: required.filter((r) => names.includes(r)) });
}

// ---------------------------------------------------------------- hostile

/** Strings no field should take as they are: control characters, NUL, lone surrogates, bidi overrides, template and shell syntax. */
export const NASTY_STRINGS: readonly string[] = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202eevil\u202c',
  '\u0007\u0008\u001b[31m',
  '\r\n\r\nX-Injected: 1',
  "' OR 1=1 --",
  '"; DROP TABLE goals; --',
  '$(touch /tmp/reprise-hostile)',
  '{{inputs.__proto__}}',
  '${process.env.DATABASE_URL}',
  '../../../../etc/passwd',
  '\uFEFF',
  '\u00a0',
  '🙂'.repeat(50),
  'Ω≈ç√∫˜µ≤≥÷',
  ' ',
  '',
];

/** Keys that walk into an object's prototype when code assigns by key. */
export const POLLUTING_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__'];

/** The marker property a prototype-pollution payload tries to set on Object.prototype. */
export const POLLUTION_MARKER = 'reprisePolluted';

/** `{[key]: value}` with `key` an own, enumerable property even when it is `__proto__` (so JSON.stringify writes it). */
export function withOwnKey(target: object, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(target)) Object.defineProperty(copy, k, { value: (target as Record<string, unknown>)[k], enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function nested(levels: number, leaf: unknown, asArray: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = asArray ? [v] : { a: v };
  return v;
}

const label = (at: string, what: string) => (v: unknown): THostile => ({ value: v, how: `${at}: ${what}` });

/** What any position may get, whatever its schema: null, another JSON type, a nasty string, a very deep nesting. */
function anyPositionMutations(s: TJsonSchema, at: string): fc.Arbitrary<THostile>[] {
  const types = typesOf(s);
  const wrong: [string, unknown][] = (
    [
      ['string', 'not the right type'],
      ['number', 12345.5],
      ['boolean', true],
      ['array', [1, 'two', null]],
      ['object', { unexpected: 'object' }],
    ] as [string, unknown][]
  ).filter(([t]) => !types.includes(t) && !(t === 'number' && types.includes('integer')) && !(s.enum ?? []).includes(t));
  const arbs: fc.Arbitrary<THostile>[] = [];
  if (!types.includes('null')) arbs.push(fc.constant(null).map(label(at, 'null')));
  if (wrong.length) arbs.push(fc.constantFrom(...wrong).map(([t, v]) => ({ value: v, how: `${at}: a ${t} instead of ${types.join('|') || 'the schema'}` })));
  if (!types.includes('string') || s.enum || s.const !== undefined) arbs.push(fc.constantFrom(...NASTY_STRINGS).map(label(at, 'a nasty string')));
  arbs.push(
    fc.tuple(fc.integer({ min: 65, max: 3000 }), fc.boolean()).map(([levels, asArray]) => ({
      value: nested(levels, 'deep', asArray),
      how: `${at}: ${asArray ? 'an array' : 'an object'} nested ${levels} levels`,
    })),
  );
  return arbs;
}

export function hostileArbitrary(schema: TJsonSchema, ctx: TSchemaContext, at = 'body', depth = 0): fc.Arbitrary<THostile> {
  const s = resolveSchema(schema, ctx);
  if (s.allOf) return hostileArbitrary(mergeAllOf(s.allOf, ctx), ctx, at, depth);
  const branches = s.oneOf ?? s.anyOf;
  // A mutation of one branch's valid value: the branch chooses the shape (a shell action), the mutation breaks it.
  if (branches) return fc.oneof(...branches.map((b) => hostileArbitrary(b, ctx, at, depth)), ...anyPositionMutations(s, at));
  const arbs = anyPositionMutations(s, at);
  if (s.enum || s.const !== undefined) {
    const allowed = s.enum ?? [s.const];
    const strings = allowed.filter((e): e is string => typeof e === 'string');
    const near = [...strings.map((e) => e.toUpperCase()), ...strings.map((e) => ` ${e}`), ...strings.map((e) => `${e}\u0000`), 'definitely-not-allowed'].filter((v) => !allowed.includes(v));
    arbs.push(fc.constantFrom(...near).map(label(at, `not one of ${JSON.stringify(allowed).slice(0, 80)}`)));
    return fc.oneof(...arbs);
  }
  for (const type of typesOf(s)) {
    if (type === 'string') arbs.push(...hostileStrings(s, at));
    if (type === 'integer' || type === 'number') arbs.push(...hostileNumbers(s, at, type));
    if (type === 'boolean') arbs.push(fc.constantFrom<unknown>('true', 'false', 0, 1, 'yes').map(label(at, 'a boolean look-alike')));
    if (type === 'array') arbs.push(...hostileArrays(s, ctx, at, depth));
    if (type === 'object') arbs.push(...hostileObjects(s, ctx, at, depth));
  }
  return fc.oneof(...arbs);
}

function hostileStrings(s: TJsonSchema, at: string): fc.Arbitrary<THostile>[] {
  const arbs: fc.Arbitrary<THostile>[] = [fc.constantFrom(...NASTY_STRINGS).map(label(at, 'a nasty string'))];
  // Past maxLength (by one, or by a lot); without a maxLength, merely big.
  const over = s.maxLength !== undefined ? [s.maxLength + 1, s.maxLength * 4 + 1] : [100_000];
  arbs.push(fc.tuple(fc.constantFrom(...over), fc.constantFrom('x', 'é', '🙂', '\u0001')).map(([n, ch]) => ({ value: ch.repeat(n), how: `${at}: ${n} × ${JSON.stringify(ch)} (maxLength ${s.maxLength ?? 'none'})` })));
  if ((s.minLength ?? 0) > 0) arbs.push(fc.constant('').map(label(at, `empty (minLength ${s.minLength})`)));
  if (s.pattern) {
    // The pattern is a hint here too: only the candidates it refuses (so the label is true).
    const candidates = ['UPPER CASE', 'has space', '-leading-dash', 'ü', 'a/b', '..', 'tab\there', 'x'.repeat(300)].filter((c) => !patternAccepts(s.pattern!, c));
    if (candidates.length) arbs.push(fc.constantFrom(...candidates).map(label(at, `not matching ${s.pattern}`)));
  }
  if (s.format === 'date-time') {
    arbs.push(
      fc.constantFrom('2026-13-45T25:61:00Z', 'not a date', '275760-09-13T00:00:01Z', '0000-00-00T00:00:00Z', '2026-02-30T00:00:00Z', '1e12', 'NaN', '2026-01-01').map(label(at, 'not a date-time')),
    );
  }
  if (s.format === 'uri') {
    arbs.push(fc.constantFrom('javascript:alert(1)', 'file:///etc/passwd', 'http://[::1', 'not a url', 'http://', '//reprise.invalid', 'gopher://reprise.invalid:70/_x').map(label(at, 'not an http(s) URL')));
  }
  return arbs;
}

function patternAccepts(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(text);
  } catch {
    return false;
  }
}

function hostileNumbers(s: TJsonSchema, at: string, type: string): fc.Arbitrary<THostile>[] {
  const outOfRange: number[] = [1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -(2 ** 53) - 2, 2 ** 31, -(2 ** 31) - 1];
  if (s.minimum !== undefined) outOfRange.push(s.minimum - 1);
  if (s.exclusiveMinimum !== undefined) outOfRange.push(s.exclusiveMinimum, s.exclusiveMinimum - 1);
  if (s.maximum !== undefined) outOfRange.push(s.maximum + 1);
  const arbs = [
    fc.constantFrom(...outOfRange).map(label(at, `out of range [${s.minimum ?? s.exclusiveMinimum ?? '-∞'}, ${s.maximum ?? '∞'}]`)),
    fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e309', '0x10', '12abc', '', ' 5', '5.0').map(label(at, 'a NaN-ish string')),
  ];
  if (type === 'integer') arbs.push(fc.constantFrom(1.5, 0.1, -0.5, 1e-7).map(label(at, 'not an integer')));
  return arbs;
}

function hostileArrays(s: TJsonSchema, ctx: TSchemaContext, at: string, depth: number): fc.Arbitrary<THostile>[] {
  const item = s.items ? validArbitrary(s.items, ctx, VALID_MAX_DEPTH) : anyJson();
  const arbs: fc.Arbitrary<THostile>[] = [];
  const overBy = s.maxItems !== undefined ? s.maxItems + 1 : 5_000;
  arbs.push(item.map((v) => ({ value: Array.from({ length: overBy }, () => v), how: `${at}: ${overBy} items (maxItems ${s.maxItems ?? 'none'})` })));
  if ((s.minItems ?? 0) > 0) arbs.push(fc.constant([]).map(label(at, `no items (minItems ${s.minItems})`)));
  if (s.items && depth < HOSTILE_MAX_DEPTH) {
    const items = s.items;
    arbs.push(
      fc
        .tuple(validArbitrary(s, ctx, depth), fc.nat())
        .chain(([arr, i]) => {
          const list = arr as unknown[];
          const index = list.length ? i % list.length : 0;
          return hostileArbitrary(items, ctx, `${at}[${index}]`, depth + 1).map((h) => {
            const copy = [...list];
            copy[index] = h.value;
            return { value: copy, how: h.how };
          });
        }),
    );
  }
  return arbs;
}

function hostileObjects(s: TJsonSchema, ctx: TSchemaContext, at: string, depth: number): fc.Arbitrary<THostile>[] {
  const base = validObject(s, ctx, depth).map((v) => v as Record<string, unknown>);
  const properties = s.properties ?? {};
  const required = s.required ?? [];
  const names = Object.keys(properties);
  const arbs: fc.Arbitrary<THostile>[] = [];
  if (required.length) {
    arbs.push(
      fc.tuple(base, fc.constantFrom(...required)).map(([o, name]) => {
        const copy = { ...o };
        delete copy[name];
        return { value: copy, how: `${at}: required ${name} dropped` };
      }),
    );
  }
  if (s.additionalProperties === false || names.length) {
    arbs.push(
      fc.tuple(base, fc.constantFrom('unexpected', 'Title', 'id', 'owner_id', 'user_id', 'agent_id_', '', ' ', 'a'.repeat(5000), '\u0000'), anyJson()).map(([o, key, v]) => ({
        value: withOwnKey(o, key, v),
        how: `${at}: extra property ${JSON.stringify(key.slice(0, 20))}`,
      })),
    );
  }
  // Prototype pollution, both where a strict object refuses unknown keys and where a record would assign them.
  arbs.push(
    fc.tuple(base, fc.constantFrom(...POLLUTING_KEYS)).map(([o, key]) => ({
      value: withOwnKey(o, key, key === 'constructor' ? { prototype: { [POLLUTION_MARKER]: 'yes' } } : { [POLLUTION_MARKER]: 'yes' }),
      how: `${at}: own key ${key}`,
    })),
  );
  if (typeof s.additionalProperties === 'object' && depth < HOSTILE_MAX_DEPTH) {
    const values = s.additionalProperties;
    arbs.push(
      fc.tuple(base, fc.constantFrom('k', ...POLLUTING_KEYS)).chain(([o, key]) =>
        hostileArbitrary(values, ctx, `${at}.${key}`, depth + 1).map((h) => ({ value: withOwnKey(o, key, h.value), how: h.how })),
      ),
    );
    arbs.push(
      fc.integer({ min: 2_000, max: 20_000 }).map((n) => ({
        value: Object.fromEntries(Array.from({ length: n }, (_v, i) => [`k${i}`, 'v'])),
        how: `${at}: ${n} keys`,
      })),
    );
  }
  if (names.length && depth < HOSTILE_MAX_DEPTH) {
    arbs.push(
      fc.tuple(base, fc.constantFrom(...names)).chain(([o, name]) =>
        hostileArbitrary(properties[name]!, ctx, `${at}.${name}`, depth + 1).map((h) => ({ value: withOwnKey(o, name, h.value), how: h.how })),
      ),
    );
  }
  return arbs;
}

// ---------------------------------------------------------------- operations and requests

export interface TParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: TJsonSchema;
}

export interface TOperation {
  method: string;
  path: string;
  operationId: string;
  parameters: TParameter[];
  body?: TJsonSchema;
}

interface TOpenApiDocument {
  paths: Record<string, Record<string, { operationId: string; parameters?: TParameter[]; requestBody?: { content: Record<string, { schema: TJsonSchema }> } }>>;
  components?: { schemas?: Record<string, TJsonSchema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every operation of the document (paths × methods), in document order. */
export function operationsOf(doc: object): TOperation[] {
  const d = doc as TOpenApiDocument;
  return Object.entries(d.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path, operationId: op.operationId, parameters: op.parameters ?? [], body: op.requestBody?.content['application/json']?.schema })),
  );
}

export function schemaContextOf(doc: object, patternHints?: TSchemaContext['patternHints']): TSchemaContext {
  return { schemas: (doc as TOpenApiDocument).components?.schemas ?? {}, patternHints };
}

/** A path segment, percent-encoded by the sender unless `raw` (then sent as written: dot segments, `%00`, broken escapes). */
export interface TSegment {
  value: string;
  raw: boolean;
}

/** What to send as a body: JSON of a value, raw text with a content type, or nothing. */
export type TBody = { kind: 'json'; value: unknown } | { kind: 'text'; text: string; contentType: string } | { kind: 'none' };

export interface TRequestShape {
  params: Record<string, TSegment>;
  /** Query pairs in order; a name may repeat. */
  query: [string, string][];
  body: TBody;
  /** What was mutated, one line per mutation (empty for a valid-ish request). */
  mutations: string[];
}

const RAW_SEGMENTS = ['..', '.', '%00', '%2e%2e', '%2E%2E%2F%2E%2E', '%ZZ', '%', '%c0%ae%c0%ae', '%u0000', '%E2%80%AE'];

function hostileSegment(p: TParameter, ctx: TSchemaContext): fc.Arbitrary<{ segment: TSegment; how: string }> {
  const at = `params.${p.name}`;
  const valid = validArbitrary(p.schema, ctx).map(String);
  return fc.oneof(
    fc.constantFrom(...RAW_SEGMENTS).map((v) => ({ segment: { value: v, raw: true }, how: `${at}: raw ${v}` })),
    fc.constantFrom(...NASTY_STRINGS.filter(Boolean), '../../api/tokens', '..%2F..%2Fapi', '%00', 'null', 'undefined', '0', '-1').map((v) => ({ segment: { value: v, raw: false }, how: `${at}: ${JSON.stringify(v)}` })),
    fc.tuple(valid, fc.integer({ min: 300, max: 3_000 })).map(([v, n]) => ({ segment: { value: v + 'z'.repeat(n), raw: false }, how: `${at}: ${n + v.length} characters long` })),
    fc.tuple(valid, fc.constantFrom('\u0000', '\n', ' ', '%00', '/..', '.', 'Z')).map(([v, suffix]) => ({ segment: { value: v + suffix, raw: false }, how: `${at}: valid id + ${JSON.stringify(suffix)}` })),
    valid.map((v) => ({ segment: { value: v.toUpperCase(), raw: false }, how: `${at}: upper-cased` })),
  );
}

function validQueryValue(p: TParameter, ctx: TSchemaContext): fc.Arbitrary<string> {
  const s = resolveSchema(p.schema, ctx);
  // Our limits document their range in the description only ("Page size, 1-200"): read it as a hint.
  const range = /(\d+)-(\d+)/.exec(s.description ?? '');
  if (s.type === 'integer' && range) return fc.integer({ min: Number(range[1]), max: Number(range[2]) }).map(String);
  return validArbitrary(p.schema, ctx).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}

function hostileQuery(p: TParameter, ctx: TSchemaContext, valid: fc.Arbitrary<string>): fc.Arbitrary<{ pairs: [string, string][]; how: string }> {
  const at = `query.${p.name}`;
  // A query value stays a few KiB: past 16 KiB of request head Node answers 431 itself, before the app.
  const asText = (h: THostile): string => (typeof h.value === 'string' ? h.value : (JSON.stringify(h.value) ?? 'null')).slice(0, 600);
  const cases: fc.Arbitrary<{ pairs: [string, string][]; how: string }>[] = [
    fc.tuple(valid, valid).map(([a, b]) => ({ pairs: [[p.name, a], [p.name, b]], how: `${at}: repeated` })),
    valid.map((v) => ({ pairs: [[`${p.name}[]`, v]], how: `${at}: as ${p.name}[]` })),
    valid.map((v) => ({ pairs: [[`${p.name}[__proto__]`, v]], how: `${at}: as ${p.name}[__proto__]` })),
    fc.constantFrom('NaN', 'Infinity', '-1', '0', '1e3', '0x10', '2e2', ' 5', '5.0', '99999999999999999999', '', '%00').map((v) => ({ pairs: [[p.name, v]], how: `${at}: ${JSON.stringify(v)}` })),
    fc.constantFrom(...NASTY_STRINGS).map((v) => ({ pairs: [[p.name, v]], how: `${at}: a nasty string` })),
    fc.integer({ min: 201, max: 3_000 }).map((n) => ({ pairs: [[p.name, 'q'.repeat(n)]], how: `${at}: ${n} characters` })),
    hostileArbitrary(p.schema, ctx, at).map((h) => ({ pairs: [[p.name, asText(h)]], how: h.how })),
  ];
  if (p.required) cases.push(fc.constant({ pairs: [], how: `${at}: required, missing` }));
  return fc.oneof(...cases);
}

/** Extra query names a handler must not trip over. */
const EXTRA_QUERY_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__proto__[polluted]', 'a[b][c]', '', '\u0000'];

function hostileBody(op: TOperation, ctx: TSchemaContext): fc.Arbitrary<{ body: TBody; how: string }> {
  const schema = op.body!;
  return fc.oneof(
    { weight: 8, arbitrary: hostileArbitrary(schema, ctx, 'body').map((h) => ({ body: { kind: 'json', value: h.value } as TBody, how: h.how })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          { text: '{"title":', contentType: 'application/json', how: 'truncated JSON' },
          { text: '{"a":1}garbage', contentType: 'application/json', how: 'JSON with trailing garbage' },
          { text: '\uFEFF{}', contentType: 'application/json', how: 'JSON behind a byte-order mark' },
          { text: 'title=x&kind=leaf', contentType: 'application/x-www-form-urlencoded', how: 'a form' },
          { text: '<goal/>', contentType: 'text/xml', how: 'XML' },
          { text: '{}', contentType: 'application/json; charset=utf-16', how: 'a charset the JSON parser refuses' },
          { text: `{"x":"${'y'.repeat(1_100_000)}"}`, contentType: 'application/json', how: 'over the 1mb body limit' },
          { text: 'null', contentType: 'application/json', how: 'JSON null' },
          { text: '"a string"', contentType: 'application/json', how: 'a JSON string' },
          { text: '[]', contentType: 'application/json', how: 'a JSON array' },
        )
        .map(({ how, ...body }) => ({ body: { kind: 'text', ...body } as TBody, how: `body: ${how}` })),
    },
  );
}

/**
 * One request for `op`. Valid-ish: every part conforms. Hostile: a non-empty
 * subset of the parts the route validates (path params, query, body) mutated,
 * each mutation named in `mutations`; a route with none of them gets junk
 * query parameters instead (and `mutations` says so).
 */
export function requestArbitrary(op: TOperation, ctx: TSchemaContext, mode: 'valid' | 'hostile'): fc.Arbitrary<TRequestShape> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const bodyAllowed = op.method !== 'get' && op.method !== 'head';
  const validParams = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, validArbitrary(p.schema, ctx).map((v): TSegment => ({ value: String(v), raw: false }))]))) as fc.Arbitrary<Record<string, TSegment>>;
  const validQuery = fc
    .tuple(...queryParams.map((p) => (p.required ? validQueryValue(p, ctx).map((v) => [[p.name, v]] as [string, string][]) : fc.option(validQueryValue(p, ctx), { nil: undefined }).map((v) => (v === undefined ? [] : [[p.name, v]]) as [string, string][]))))
    .map((parts) => parts.flat());
  const validBody: fc.Arbitrary<TBody> = op.body ? validArbitrary(op.body, ctx).map((value) => ({ kind: 'json', value })) : fc.constant({ kind: 'none' });
  const valid = fc.record({ params: validParams, query: validQuery, body: validBody }).map((r): TRequestShape => ({ ...r, mutations: [] }));
  if (mode === 'valid') return valid;

  type TPart = 'params' | 'query' | 'body';
  const parts: TPart[] = [...(pathParams.length ? ['params' as const] : []), ...(queryParams.length ? ['query' as const] : []), ...(op.body && bodyAllowed ? ['body' as const] : [])];
  const junkQuery = fc.array(fc.tuple(fc.constantFrom(...EXTRA_QUERY_NAMES), fc.constantFrom(...NASTY_STRINGS, 'x'.repeat(1_000))), { minLength: 1, maxLength: 4 });
  if (parts.length === 0) {
    return fc.tuple(valid, junkQuery).map(([r, junk]) => ({ ...r, query: [...r.query, ...junk], mutations: [`query: unknown names ${JSON.stringify(junk.map(([k]) => k))}`] }));
  }
  return fc.tuple(valid, fc.subarray(parts, { minLength: 1 }), fc.option(junkQuery, { nil: undefined, freq: 4 })).chain(([r, chosen, junk]) => {
    const mutated: fc.Arbitrary<Partial<TRequestShape> & { how: string[] }>[] = chosen.map((part) => {
      if (part === 'params') {
        return fc.tuple(fc.constantFrom(...pathParams), fc.constant(null)).chain(([p]) => hostileSegment(p, ctx).map(({ segment, how }) => ({ params: { ...r.params, [p.name]: segment }, how: [how] })));
      }
      if (part === 'query') {
        return fc.constantFrom(...queryParams).chain((p) =>
          hostileQuery(p, ctx, validQueryValue(p, ctx)).map(({ pairs, how }) => ({ query: [...r.query.filter(([k]) => k !== p.name), ...pairs], how: [how] })),
        );
      }
      return hostileBody(op, ctx).map(({ body, how }) => ({ body, how: [how] }));
    });
    return fc.tuple(...mutated).map((changes) => {
      const out: TRequestShape = { ...r, mutations: [] };
      for (const { how, ...change } of changes) {
        Object.assign(out, change);
        out.mutations.push(...how);
      }
      if (junk) {
        out.query = [...out.query, ...junk];
        out.mutations.push(`query: unknown names ${JSON.stringify(junk.map(([k]) => k))}`);
      }
      return out;
    });
  });
}

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is
 * written as its WTF-8 bytes: the server must refuse that URL, not the sender.
 */
export function encodeLoose(text: string): string {
  return text.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]|[^\ud800-\udfff]+/g, (chunk) => {
    if (chunk.length > 1 || !/[\ud800-\udfff]/.test(chunk)) return encodeURIComponent(chunk);
    const c = chunk.charCodeAt(0);
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
  });
}

/** The URL path and query of a request shape (path params percent-encoded unless raw). */
export function urlOf(op: TOperation, shape: TRequestShape): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const segment = shape.params[name];
    if (!segment) return '';
    return segment.raw ? segment.value : encodeLoose(segment.value);
  });
  const query = shape.query.map(([k, v]) => `${encodeLoose(k)}=${encodeLoose(v)}`).join('&');
  return query ? `${path}?${query}` : path;
}
