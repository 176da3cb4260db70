import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_URL, isLoopbackUrl, resolveConnection } from '../../src/cli/config';
import { describeError } from '../../src/cli/output';
import { ApiError } from '../../src/client/http';
import { localTokenPath, writeLocalTokenFile } from '../../src/dev/localToken';

/** Where the CLI connects with only a local token file (written 0600, as `npm start` writes it) for `url`. */
function withTokenFile(url: string): { env: NodeJS.ProcessEnv; token: string } {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reprise-cli-conn-'));
  const token = `rpr_${'a'.repeat(43)}`;
  writeLocalTokenFile(localTokenPath(dataDir), { url, token, token_id: 'tok_x', created_at: new Date().toISOString() });
  return { env: { REPRISE_DATA_DIR: dataDir }, token };
}

describe('resolveConnection and the local token file', () => {
  it.each(['http://127.0.0.1:3000', 'http://127.8.0.1:23000', 'http://localhost:3000', 'http://[::1]:3000'])('follows a file written for the loopback URL %s', (url) => {
    const { env, token } = withTokenFile(url);
    expect(resolveConnection({}, env)).toMatchObject({ url, token, tokenSource: 'local token file' });
  });

  it.each(['http://203.0.113.7:3000', 'https://reprise.example.com', 'http://127.0.0.1.example.com:3000', 'http://[::ffff:127.0.0.1]:3000'])('does not follow a file written for %s, nor send its token elsewhere', (url) => {
    const { env } = withTokenFile(url);
    expect(resolveConnection({}, env)).toMatchObject({ url: DEFAULT_URL, token: undefined, tokenSource: 'none', otherUrlTokenFile: { url } });
  });

  it('sends the token of a file written for a remote URL when the caller names exactly that URL', () => {
    const { env, token } = withTokenFile('https://reprise.example.com');
    expect(resolveConnection({ url: 'https://reprise.example.com/' }, env)).toMatchObject({ url: 'https://reprise.example.com', token, tokenSource: 'local token file' });
    expect(resolveConnection({ url: 'https://reprise.example.com:8443' }, env)).toMatchObject({ token: undefined, tokenSource: 'none' });
  });

  it('tells loopback URLs from look-alikes', () => {
    expect(['http://localhost', 'http://127.0.0.1', 'http://[::1]:1'].map(isLoopbackUrl)).toEqual([true, true, true]);
    expect(['http://localhost.evil.test', 'http://128.0.0.1', 'not a url', 'http://[::2]'].map(isLoopbackUrl)).toEqual([false, false, false, false]);
  });

  it('says plainly that a file others can read was ignored, why, and how to fix it, where it would otherwise report the API unreachable', () => {
    const { env } = withTokenFile('http://127.0.0.1:3999');
    const file = localTokenPath(env.REPRISE_DATA_DIR!);
    chmodSync(file, 0o644);
    const connection = resolveConnection({}, env);
    expect(connection).toMatchObject({ url: DEFAULT_URL, token: undefined, tokenSource: 'none', ignoredTokenFile: { file } });
    expect(connection.ignoredTokenFile?.reason).toBe(`others can read or change it (mode 0644), so its token is not trusted; if it is yours, run: chmod 600 ${file}`);

    const ctx = { url: connection.url, tokenSource: connection.tokenSource, ignoredTokenFile: connection.ignoredTokenFile };
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(describeError(refused, ctx).message).toBe(
      `reprise: cannot reach the Reprise API at ${DEFAULT_URL} (ECONNREFUSED). Is it running? Start it with \`npm start\`, or point --url / REPRISE_URL at it.\n` +
        `hint: the local token file ${file} was ignored: others can read or change it (mode 0644), so its token is not trusted; if it is yours, run: chmod 600 ${file} (its API URL was not used either)`,
    );
    expect(describeError(new ApiError(401, 'UNAUTHENTICATED', 'send a bearer token', undefined), ctx).message).toMatch(/\nhint: the local token file .* was ignored: .*chmod 600 .*\nhint: so no token was sent to /);

    // Made private again, it is used.
    chmodSync(file, 0o600);
    expect(resolveConnection({}, env)).toMatchObject({ url: 'http://127.0.0.1:3999', tokenSource: 'local token file' });
    expect(resolveConnection({}, env).ignoredTokenFile).toBeUndefined();
  });
});
