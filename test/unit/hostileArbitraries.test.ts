import type { Client } from '@temporalio/client';
import type { Request, Response } from 'express';
import fc from 'fast-check';
import pino from 'pino';
import type { ZodType } from 'zod';
import { createApp } from '../../src/api/app';
import { inputGuard } from '../../src/api/inputGuard';
import type { PrismaClient } from '../../src/db/client';
import {
  encodeLoose,
  hostileArbitrary,
  operationsOf,
  requestArbitrary,
  resolveSchema,
  schemaContextOf,
  urlOf,
  validArbitrary,
  withOwnKey,
  type TJsonSchema,
  type TSchemaContext,
} from '../support/hostileArbitraries';

/**
 * The arbitraries the hostile-request suite is built on, checked against the
 * zod schemas our document is generated from: valid-ish values parse, hostile
 * ones are refused (by zod, or by the input guard before it).
 */

// The document needs the routes, not their dependencies: nothing here is called (as scripts/apiTypes.ts).
const { openapi, routes } = createApp({
  prisma: {} as PrismaClient,
  temporal: {} as Client,
  logger: pino({ level: 'silent' }),
  taskQueue: 'unused',
  bodyLimit: '1mb',
  temporalUi: { baseUrl: undefined, namespace: 'default' },
});
const doc = openapi();
const ctx = schemaContextOf(doc);
const ops = operationsOf(doc);
const seed = 16;

/** Whether the API would refuse this body before any handler: the input guard, then the route's zod schema. */
function refused(schema: ZodType, value: unknown): boolean {
  let guarded = false;
  inputGuard({ body: value, query: {}, params: {} } as Request, {} as Response, (err?: unknown) => (guarded = err !== undefined));
  return guarded || !schema.safeParse(value).success;
}

const withBody = routes.filter((r) => r.body);

describe('operationsOf', () => {
  it('walks every path and method of the document, bodies included', () => {
    expect(ops.map((o) => `${o.method} ${o.path}`).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    expect(ops.filter((o) => o.body).map((o) => `${o.method} ${o.path}`).sort()).toEqual(withBody.map((r) => `${r.method} ${r.path}`).sort());
  });
});

describe('validArbitrary over the document', () => {
  it.each(withBody.map((r) => `${r.method} ${r.path}`))('%s: valid-ish bodies parse with the route schema', (key) => {
    const route = withBody.find((r) => `${r.method} ${r.path}` === key)!;
    const op = ops.find((o) => `${o.method} ${o.path}` === key)!;
    fc.assert(
      fc.property(validArbitrary(op.body!, ctx), (value) => {
        const parsed = (route.body as ZodType).safeParse(value);
        if (parsed.success) return;
        // What the document cannot say (refinements: an `every` interval, a cron line), what a pattern
        // hint does not promise (a `name@version` reference), and the Plan component being nullable
        // where it is a child's plan, not where it is the whole body.
        const documentedGap =
          (value === null && key.endsWith('/plan')) || parsed.error.issues.every((i) => i.code === 'custom' || (i.code === 'invalid_format' && i.format === 'regex'));
        if (!documentedGap) throw new Error(`${JSON.stringify(value)}: ${parsed.error.message}`);
      }),
      { seed, numRuns: 60 },
    );
  });
});

describe('hostileArbitrary over the document', () => {
  /** Mutations that must always be refused; the rest (a nasty string where any string goes) may pass and is only counted. */
  // Exceptions, each a fact of the schemas: zod records drop a `__proto__` key (value unread, nothing
  // polluted); POST /api/goals infers a missing `kind` (the document still lists it as required).
  const MAY_PASS = (key: string, how: string) => /\.__proto__[.:]/.test(how) || (key === 'post /api/goals' && how === 'body: required kind dropped');
  const ALWAYS_REFUSED = /required \w+ dropped|extra property|maxLength|out of range|not an integer|instead of|: null$|nested \d+ levels|own key __proto__|NaN-ish|not matching|not a date-time|items \(maxItems|not one of/;

  it.each(withBody.map((r) => `${r.method} ${r.path}`))('%s: hostile bodies are refused', (key) => {
    const route = withBody.find((r) => `${r.method} ${r.path}` === key)!;
    const op = ops.find((o) => `${o.method} ${o.path}` === key)!;
    let total = 0;
    let refusedCount = 0;
    fc.assert(
      fc.property(hostileArbitrary(op.body!, ctx), (h) => {
        total++;
        const isRefused = refused(route.body as ZodType, h.value);
        if (isRefused) refusedCount++;
        else if (ALWAYS_REFUSED.test(h.how) && !MAY_PASS(key, h.how)) throw new Error(`accepted: ${h.how}`);
      }),
      { seed, numRuns: 150 },
    );
    // A hostile arbitrary that mostly makes acceptable values would test nothing.
    expect(refusedCount / total).toBeGreaterThan(0.75);
  });
});

describe('schema features', () => {
  const schemas: Record<string, TJsonSchema> = {
    Slug: { type: 'string', pattern: '^[a-z0-9]+$', minLength: 1, maxLength: 8 },
    Tree: { type: 'object', properties: { name: { $ref: '#/components/schemas/Slug' }, children: { type: 'array', items: { $ref: '#/components/schemas/Tree' } } }, required: ['name'], additionalProperties: false },
  };
  const small: TSchemaContext = { schemas, patternHints: { '^id_[0-9]+$': ['id_1', 'id_2'] } };
  const sample = (schema: TJsonSchema, c: TSchemaContext = small) => fc.sample(validArbitrary(schema, c), { seed, numRuns: 50 });

  it('resolves $ref chains, keeping sibling keywords', () => {
    expect(resolveSchema({ $ref: '#/components/schemas/Slug', description: 'd' }, small)).toMatchObject({ type: 'string', description: 'd' });
    expect(() => resolveSchema({ $ref: '#/components/schemas/Nope' }, small)).toThrow(/unresolvable/);
  });

  it('terminates on recursive schemas, and respects required, additionalProperties and string bounds', () => {
    for (const tree of sample({ $ref: '#/components/schemas/Tree' }) as { name: string; children?: unknown[] }[]) {
      expect(tree.name).toMatch(/^[a-z0-9]{1,8}$/);
      expect(Object.keys(tree).every((k) => k === 'name' || k === 'children')).toBe(true);
    }
  });

  it('enum, const, oneOf/anyOf, allOf, type arrays, numbers, dates, hints', () => {
    expect(new Set(sample({ enum: ['a', 'b'] }))).toEqual(new Set(['a', 'b']));
    expect(new Set(sample({ const: 7 }))).toEqual(new Set([7]));
    expect(new Set(sample({ oneOf: [{ const: 1 }, { const: 2 }] }))).toEqual(new Set([1, 2]));
    expect(new Set(sample({ anyOf: [{ type: 'null' }, { const: 'x' }] }))).toEqual(new Set([null, 'x']));
    for (const v of sample({ allOf: [{ type: 'object', properties: { a: { const: 1 } }, required: ['a'] }, { type: 'object', properties: { b: { const: 2 } }, required: ['b'] }] })) {
      expect(v).toEqual({ a: 1, b: 2 });
    }
    expect(sample({ type: ['string', 'null'], maxLength: 3 }).every((v) => v === null || (typeof v === 'string' && [...v].length <= 3))).toBe(true);
    expect(sample({ type: 'integer', exclusiveMinimum: 0, maximum: 5 }).every((v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 5)).toBe(true);
    expect(sample({ type: 'array', items: { type: 'boolean' }, minItems: 2, maxItems: 2 }).every((v) => Array.isArray(v) && v.length === 2)).toBe(true);
    expect(sample({ type: 'string', format: 'date-time' }).every((v) => !Number.isNaN(Date.parse(v as string)))).toBe(true);
    expect(new Set(sample({ type: 'string', pattern: '^id_[0-9]+$' }))).toEqual(new Set(['id_1', 'id_2']));
    expect(new Set(sample({ type: 'string', pattern: '^x$', example: 'x' }))).toEqual(new Set(['x']));
  });

  it('hostile values are labelled with where the mutation is', () => {
    const hows = fc.sample(hostileArbitrary({ $ref: '#/components/schemas/Tree' }, small), { seed, numRuns: 300 }).map((h) => h.how);
    expect(hows.some((h) => h === 'body: required name dropped')).toBe(true);
    expect(hows.some((h) => h.startsWith('body.name: '))).toBe(true);
    expect(hows.some((h) => /^body\.children\[\d+\]/.test(h))).toBe(true);
    expect(hows.some((h) => /own key __proto__/.test(h))).toBe(true);
  });

  it('a __proto__ key survives JSON.stringify as an own property', () => {
    const text = JSON.stringify(withOwnKey({ a: 1 }, '__proto__', { polluted: true }));
    expect(text).toBe('{"a":1,"__proto__":{"polluted":true}}');
    expect(Object.getPrototypeOf(JSON.parse(text))).toBe(Object.prototype);
  });

  it('encodes lone surrogates as their WTF-8 bytes instead of throwing', () => {
    expect(encodeLoose('a\ud800b')).toBe('a%ED%A0%80b');
    expect(encodeLoose('🙂 /')).toBe(encodeURIComponent('🙂 /'));
  });
});

describe('requestArbitrary', () => {
  it('hostile requests mutate something on every operation, and their URLs stay within what Node accepts', () => {
    for (const op of ops) {
      for (const shape of fc.sample(requestArbitrary(op, ctx, 'hostile'), { seed, numRuns: 40 })) {
        expect(shape.mutations.length).toBeGreaterThan(0);
        // Node refuses request heads over 16 KiB with a bare 431 before the app: stay under it.
        expect(urlOf(op, shape).length).toBeLessThan(14_000);
      }
      for (const shape of fc.sample(requestArbitrary(op, ctx, 'valid'), { seed, numRuns: 10 })) {
        expect(shape.mutations).toEqual([]);
        expect(urlOf(op, shape)).not.toMatch(/\{\w+\}/);
      }
    }
  });
});
