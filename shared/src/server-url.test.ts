import { describe, expect, it } from 'vitest';
import { extensionPageMessage } from './messages.ts';
import { isLoopbackHostname, serverUrlProblem } from './server-url.ts';

describe('which servers the extension may talk to (issue 10, defect 6)', () => {
  it('takes https:// anywhere', () => {
    for (const url of ['https://accesslens.acme.com', 'https://accesslens.acme.com:8443/base', 'https://10.0.0.5'])
      expect(serverUrlProblem(url), url).toBeNull();
  });

  it('takes plain http:// only for this computer', () => {
    for (const url of ['http://localhost:8787', 'http://127.0.0.1:8787', 'http://127.5.6.7', 'http://[::1]:8787', 'http://accesslens.localhost'])
      expect(serverUrlProblem(url), url).toBeNull();
  });

  it('refuses plain http:// to any other host, including ones that only look local', () => {
    for (const url of [
      'http://accesslens.acme.com',
      'http://10.0.0.5:8787',
      'http://localhost.evil.test',
      'http://127.0.0.1.evil.test',
      'http://0.0.0.0:8787',
      'http://[::ffff:7f00:1]',
    ])
      expect(serverUrlProblem(url), url).toMatch(/https:\/\//);
  });

  it('refuses what is not an http(s) URL', () => {
    for (const url of ['ftp://localhost', 'javascript:alert(1)', 'not a url', '']) expect(serverUrlProblem(url), url).not.toBeNull();
  });

  it('knows loopback host names', () => {
    expect(isLoopbackHostname('LOCALHOST')).toBe(true);
    expect(isLoopbackHostname('127.0.0.1')).toBe(true);
    expect(isLoopbackHostname('[::1]')).toBe(true);
    expect(isLoopbackHostname('128.0.0.1')).toBe(false);
    expect(isLoopbackHostname('evil-localhost')).toBe(false);
  });

  it('an options page cannot sign in to a plain-http server elsewhere: the message names serverUrl', () => {
    const parsed = extensionPageMessage.safeParse({ type: 'auth.signIn', serverUrl: 'http://accesslens.acme.com', email: 'ava@acme.test', password: 'x' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['serverUrl']);
    expect(extensionPageMessage.safeParse({ type: 'auth.signIn', serverUrl: 'http://localhost:8787', email: 'ava@acme.test', password: 'x' }).success).toBe(
      true,
    );
  });
});
