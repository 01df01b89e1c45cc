/**
 * Test support (not a test file): a real OpenID Connect provider (the `oidc-provider` package) on a
 * random loopback port with one registered client, and a browser stand-in that goes through the
 * provider's own login and consent pages over HTTP and stops at the redirect to the extension.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import type { OidcSettings } from './auth/oidc.ts';

/** An account at the provider; `sub` is also the login name typed on its sign-in page. */
export interface IdpAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** A Chromium extension redirect URI (32 letters a-p, as `identity.getRedirectURL('oidc')` makes it). */
export const TEST_REDIRECT_URI = 'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oidc';

export interface TestIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  /** By `sub`; tests may change an account between sign-ins. */
  accounts: Map<string, IdpAccount>;
  /** Server settings for this provider (overrides for name, domains, verified email). */
  settings(overrides?: Partial<OidcSettings>): OidcSettings;
  /**
   * Plays the browser: opens `authorizationUrl`, signs in as `sub` on the provider's login page,
   * consents, and returns the URL the provider redirected to (the extension's redirect URI with
   * `code`, `state` and `iss`, or an `error`) without following it.
   */
  signIn(authorizationUrl: string, sub: string, options?: { abort?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export interface IdentityProviderOptions {
  accounts?: Record<string, IdpAccount>;
  redirectUris?: string[];
  /** A public client (PKCE only, no secret) instead of a confidential one. */
  publicClient?: boolean;
  /** Put the email in the ID token; otherwise only `sub` is there and the email comes from UserInfo. */
  emailInIdToken?: boolean;
}

export async function startIdentityProvider(options: IdentityProviderOptions = {}): Promise<TestIdentityProvider> {
  const accounts = new Map(Object.entries(options.accounts ?? {}));
  const clientId = 'accesslens';
  const clientSecret = options.publicClient ? undefined : `secret-${crypto.randomUUID()}`;

  let handler: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | null = null;
  const server: Server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        ...(clientSecret ? { client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
        redirect_uris: options.redirectUris ?? [TEST_REDIRECT_URI],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' } as never] },
    cookies: { keys: [crypto.randomUUID()] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: !options.emailInIdToken,
    pkce: { required: () => true },
    // Explicit lifetimes (seconds), so the provider does not warn about its defaults.
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...accounts.get(sub) }) };
    },
  };
  const provider = new Provider(issuer, configuration);
  handler = provider.callback();

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    settings: (overrides = {}) => ({
      issuer,
      clientId,
      ...(clientSecret ? { clientSecret } : {}),
      name: 'Acme SSO',
      emailDomains: [],
      requireVerifiedEmail: true,
      ...overrides,
    }),
    signIn: (authorizationUrl, sub, signInOptions = {}) => browse(issuer, authorizationUrl, sub, signInOptions.abort ?? false),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A cookie jar as small as the provider needs: its cookies are all on the issuer's host. */
class Cookies {
  readonly #values = new Map<string, string>();

  take(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v] = a.split('=').map((x) => x.trim());
        return (k?.toLowerCase() === 'expires' && Date.parse(v ?? '') < Date.now()) || (k?.toLowerCase() === 'max-age' && Number(v) <= 0);
      });
      if (expired || value === '') this.#values.delete(name);
      else this.#values.set(name, value);
    }
  }

  header(): string {
    return [...this.#values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function unescapeHtml(s: string): string {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

async function browse(issuer: string, start: string, sub: string, abort: boolean): Promise<string> {
  const cookies = new Cookies();
  let next: { url: string; method: 'GET' | 'POST'; body?: URLSearchParams } = { url: start, method: 'GET' };
  for (let step = 0; step < 20; step++) {
    const res = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: { cookie: cookies.header(), ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(next.body ? { body: next.body.toString() } : {}),
    });
    cookies.take(res);
    if (res.status >= 300 && res.status < 400) {
      const location = new URL(res.headers.get('location')!, next.url);
      await res.arrayBuffer();
      // Leaving the provider: this is where the browser would hand the URL to the extension.
      if (location.origin !== new URL(issuer).origin) return location.href;
      next = { url: location.href, method: 'GET' };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`identity provider answered ${res.status} at ${next.url}: ${html.slice(0, 500)}`);
    const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(html);
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!form || !prompt) throw new Error(`unexpected page at ${next.url}: ${html.slice(0, 500)}`);
    const action = new URL(unescapeHtml(form[1]!), next.url);
    if (abort) {
      // The provider's "[ Cancel ]" link: the person gives up at the provider.
      const cancel = /href="([^"]*\/abort[^"]*)"/.exec(html)?.[1];
      if (!cancel) throw new Error(`no cancel link at ${next.url}`);
      next = { url: new URL(unescapeHtml(cancel), next.url).href, method: 'GET' };
      continue;
    }
    const body = prompt === 'login' ? new URLSearchParams({ prompt, login: sub, password: 'any password' }) : new URLSearchParams({ prompt });
    next = { url: action.href, method: 'POST', body };
  }
  throw new Error('the identity provider kept redirecting');
}
