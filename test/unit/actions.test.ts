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

  it('accepts ordinary values, tabs and Latin-1 text included', () => {
    expect(http({ Authorization: 'Bearer abc', 'X-Note': 'a\tb ü ÿ' }).success).toBe(true);
  });

  it.each([['a\u2028b', 'U+2028'], ['a — b', 'U+2014'], ['😀', 'U+1F600']])('refuses a value holding %j (beyond Latin-1: the request could not be sent), naming the header', (value, code) => {
    const parsed = http({ 'X-Wide': value });
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({ path: ['headers', 'X-Wide'], message: `header X-Wide: a header value may hold only Latin-1 characters (U+0000 to U+00FF); it holds ${code}` }),
    ]);
  });

  it('refuses a header name that is not an HTTP token with a readable message', () => {
    const parsed = http({ 'Bad Name': 'x' });
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({
        path: ['headers', 'Bad Name'],
        message: `header "Bad Name": a header name must be an HTTP token of 1 to 256 characters (letters, digits and !#$%&'*+.^_\`|~-)`,
      }),
    ]);
  });
});
