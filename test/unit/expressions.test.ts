import { evaluateWhen, expressionError, MAX_EXPRESSION_LENGTH, parseOutputObject, type TEdgeContext } from '../../src/domain/expressions';

function ctx(over: Partial<TEdgeContext> = {}): TEdgeContext {
  return { status: 'succeeded', exit_code: 0, stdout: '', stderr: '', http_status: null, output: {}, ...over };
}

describe('expressionError', () => {
  it.each([
    'exit_code == 0',
    'output.count > 2',
    'status == "failed" || exit_code != 0',
    'http_status >= 200 && http_status < 300',
    'has(output.url) && output.url.startsWith("https://")',
    'stdout.contains("ok")',
    'output.items.size() > 0',
    // Valid CEL even if the variable does not exist: names are resolved at evaluation.
    'nosuch == 1',
    'true',
  ])('accepts valid CEL: %s', (expression) => {
    expect(expressionError(expression)).toBeUndefined();
  });

  it.each(['exit_code ==', '(', 'a &&& b', '', 'output.count >', 'x.y(', '"unterminated'])('rejects invalid CEL: %j', (expression) => {
    const error = expressionError(expression);
    expect(typeof error).toBe('string');
    expect(error?.length).toBeGreaterThan(0);
    // One line, fit for a problem message.
    expect(error).not.toContain('\n');
  });

  it('rejects expressions longer than the maximum', () => {
    const long = `exit_code == 0${' || exit_code == 1'.repeat(Math.ceil(MAX_EXPRESSION_LENGTH / 17))}`;
    expect(long.length).toBeGreaterThan(MAX_EXPRESSION_LENGTH);
    expect(expressionError(long)).toBe(`longer than ${MAX_EXPRESSION_LENGTH} characters`);
  });

  it('is never JavaScript eval: JS-only syntax is not valid', () => {
    expect(expressionError('(() => true)()')).toBeDefined();
    expect(expressionError('process.exit(1); true')).toBeDefined();
  });
});

describe('evaluateWhen', () => {
  it('fires when the expression is true (no reason)', () => {
    expect(evaluateWhen('exit_code == 0', ctx())).toEqual({ fired: true });
    expect(evaluateWhen('output.count > 2', ctx({ output: { count: 3 } }))).toEqual({ fired: true });
    expect(evaluateWhen('status == "timed_out"', ctx({ status: 'timed_out', exit_code: null }))).toEqual({ fired: true });
    expect(evaluateWhen('http_status == 201', ctx({ exit_code: null, http_status: 201 }))).toEqual({ fired: true });
    expect(evaluateWhen('stdout.contains("done")', ctx({ stdout: 'all done\n' }))).toEqual({ fired: true });
    expect(evaluateWhen('output.user.name == "ada"', ctx({ output: { user: { name: 'ada' } } }))).toEqual({ fired: true });
  });

  it('does not fire when the expression is false, with the reason', () => {
    expect(evaluateWhen('exit_code == 0', ctx({ exit_code: 2 }))).toEqual({ fired: false, reason: 'evaluated to false' });
    expect(evaluateWhen('output.count > 2', ctx({ output: { count: 1 } }))).toEqual({ fired: false, reason: 'evaluated to false' });
    expect(evaluateWhen('has(output.count)', ctx())).toEqual({ fired: false, reason: 'evaluated to false' });
  });

  it('does not fire when the result is not a boolean', () => {
    expect(evaluateWhen('exit_code', ctx())).toEqual({ fired: false, reason: 'evaluated to number, not a boolean' });
    expect(evaluateWhen('stdout', ctx({ stdout: 'true' }))).toEqual({ fired: false, reason: 'evaluated to string, not a boolean' });
    const sum = evaluateWhen('1 + 2', ctx());
    expect(sum.fired).toBe(false);
    expect(sum.reason).toMatch(/not a boolean$/);
    expect(evaluateWhen('output', ctx()).fired).toBe(false);
    expect(evaluateWhen('http_status', ctx()).fired).toBe(false);
  });

  it('does not fire when evaluation errors (missing field, unknown variable), with the error as reason', () => {
    const missing = evaluateWhen('output.count > 2', ctx({ output: {} }));
    expect(missing.fired).toBe(false);
    expect(missing.reason).toContain('count');

    const unknown = evaluateWhen('nosuch == 1', ctx());
    expect(unknown.fired).toBe(false);
    expect(unknown.reason).toContain('nosuch');
  });

  it('does not fire (and does not throw) on an expression that does not parse', () => {
    const result = evaluateWhen('exit_code ==', ctx());
    expect(result.fired).toBe(false);
    expect(result.reason).toEqual(expect.any(String));
    expect(result.reason).not.toContain('\n');
  });

  it('is deterministic', () => {
    const c = ctx({ output: { count: 5 } });
    expect(evaluateWhen('output.count > 2', c)).toEqual(evaluateWhen('output.count > 2', c));
  });
});

describe('parseOutputObject', () => {
  it('parses a JSON object', () => {
    expect(parseOutputObject('{"count": 3, "nested": {"ok": true}}')).toEqual({ count: 3, nested: { ok: true } });
    expect(parseOutputObject('  {"a":1}\n')).toEqual({ a: 1 });
    expect(parseOutputObject('{}')).toEqual({});
  });

  it('gives {} for a JSON array or scalar', () => {
    expect(parseOutputObject('[1, 2, 3]')).toEqual({});
    expect(parseOutputObject('[{"a": 1}]')).toEqual({});
    expect(parseOutputObject('42')).toEqual({});
    expect(parseOutputObject('"text"')).toEqual({});
    expect(parseOutputObject('null')).toEqual({});
    expect(parseOutputObject('true')).toEqual({});
  });

  it('gives {} for garbage', () => {
    expect(parseOutputObject('not json')).toEqual({});
    expect(parseOutputObject('{"a": 1')).toEqual({});
    expect(parseOutputObject('{"a": 1}\n{"b": 2}')).toEqual({});
  });

  it('gives {} for empty or missing text', () => {
    expect(parseOutputObject('')).toEqual({});
    expect(parseOutputObject(undefined)).toEqual({});
    expect(parseOutputObject('   ')).toEqual({});
  });

  it('feeds evaluateWhen', () => {
    const output = parseOutputObject('{"count": 4}');
    expect(evaluateWhen('output.count > 2', ctx({ output }))).toEqual({ fired: true });
  });
});

describe('expression cost limits (an activation must stay well inside the sandbox deadline)', () => {
  const nestedAlls = (() => {
    const list = `[${Array.from({ length: 40 }, (_, i) => i).join(',')}]`;
    let e = 'true';
    for (let i = 0; i < 6; i++) e = `${list}.all(v${i}, ${e})`;
    return e;
  })();

  it.each([
    ['nested comprehensions (cel-js did not finish this in 60 s)', nestedAlls, /comprehensions may not be nested/],
    ['a catastrophic regex through matches()', 'stdout.matches("^(a+)+$")', /`matches` is not allowed/],
    ['matches() as a function', 'matches(stdout, "a")', /`matches` is not allowed/],
    ['too many comprehensions', '[1].all(a, a > 0) && [1].all(b, b > 0) && [1].all(c, c > 0) && [1].all(d, d > 0) && [1].all(e, e > 0)', /more than 4 comprehensions/],
    ['a huge list literal', `[${Array.from({ length: 101 }, (_, i) => i).join(',')}].size() > 0`, /more than 100 elements/],
    ['too many terms', Array.from({ length: 120 }, (_, i) => `exit_code == ${i}`).join(' || ').slice(0, 2000), /more than 200 terms|nested deeper/],
  ])('refuses %s', (_what, expression, message) => {
    expect(expressionError(expression)).toMatch(message);
  });

  it('accepts one level of comprehension over the output', () => {
    expect(expressionError('output.items.all(i, i > 0) && output.items.exists(i, i == 3)')).toBeUndefined();
  });

  it('evaluates a comprehension over a large output when its body only reads the element', () => {
    expect(evaluateWhen('output.items.all(i, i >= 0)', ctx({ output: { items: Array.from({ length: 2000 }, (_, i) => i) } }))).toEqual({ fired: true });
  });

  it('does not evaluate a body that rescans a large output per element; it says why', () => {
    const result = evaluateWhen('output.items.all(i, i in output.items)', ctx({ output: { items: Array.from({ length: 3000 }, (_, i) => i) } }));
    expect(result).toMatchObject({ fired: false, overBudget: true });
    expect(result.reason).toMatch(/would exceed its evaluation budget/);
  });
});
