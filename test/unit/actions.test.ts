import { ZAction } from '../../src/domain/actions';

/** What a submitted action may hold (domain/actions.ts). */
describe('ZHttpAction headers', () => {
  const http = (headers: Record<string, string>) => ZAction.safeParse({ runtime: 'http', url: 'https://example.com/', headers });

  it.each([['a\r\nX-Injected: 1'], ['a\nb'], ['a\rb'], ['a\0b']])('refuses a value holding %j (it would split the request), naming the header', (value) => {
    const parsed = http({ Accept: 'text/plain', 'X-Split': value });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({ path: ['headers', 'X-Split'], message: 'header X-Split: a header value must not contain a line break (CR, LF) or NUL' }),
    ]);
  });

  it('accepts ordinary values, tabs and non-ASCII text included', () => {
    expect(http({ Authorization: 'Bearer abc', 'X-Note': 'a\tb — ü' }).success).toBe(true);
  });
});
