/**
 * The company's identity provider, spoken to with openid-client (OpenID Connect, authorization code
 * flow with PKCE, S256). This module knows the protocol; which person signs in is decided by the
 * route with the directory (`routes/sso.ts`).
 */
import * as client from 'openid-client';

export interface OidcSettings {
  /** The provider's issuer identifier, exactly as its discovery document states it. */
  issuer: string;
  clientId: string;
  /** Absent: a public client, protected by PKCE alone (token_endpoint_auth_method `none`). */
  clientSecret?: string;
  /** Shown on the button: "Sign in with <name>". */
  name: string;
  /** When not empty, only emails at these domains may sign in (lower case, no `@`). */
  emailDomains: string[];
  /**
   * Accept an email only when the provider says `email_verified: true`. Turn off for providers that
   * never send the claim (Microsoft Entra ID) and whose email addresses the company controls.
   */
  requireVerifiedEmail: boolean;
}

export const SSO_SCOPES = 'openid email profile';

export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** A sign-in the server refuses: the status and code for the client, the reason for the audit log. */
export class SsoRefusal extends Error {
  constructor(
    readonly status: 401 | 403 | 502,
    readonly code: string,
    message: string,
    /** Short machine-readable reason, audited (never shown to people). */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'SsoRefusal';
  }
}

/** What one started sign-in needs to be checked when it comes back. */
export interface FlowSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
}

/** The person as the provider vouches for them, after every check of the ID token. */
export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean | null;
}

export class OidcClient {
  #configuration: Promise<client.Configuration> | undefined;

  constructor(readonly settings: OidcSettings) {}

  get name(): string {
    return this.settings.name;
  }

  get issuer(): string {
    return this.settings.issuer;
  }

  /** The provider's metadata, discovered once per process; a failed discovery is retried next time. */
  configuration(): Promise<client.Configuration> {
    this.#configuration ??= this.#discover().catch((error: unknown) => {
      this.#configuration = undefined;
      throw error;
    });
    return this.#configuration;
  }

  async #discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.settings;
    const auth = clientSecret ? client.ClientSecretBasic(clientSecret) : client.None();
    // Plain http only for a provider on this machine (config.ts refuses it elsewhere).
    const options = isLoopbackUrl(new URL(issuer)) ? { execute: [client.allowInsecureRequests] } : undefined;
    try {
      return await client.discovery(new URL(issuer), clientId, clientSecret ? { client_secret: clientSecret } : undefined, auth, options);
    } catch (error) {
      throw new SsoRefusal(
        502,
        'sso_provider_unreachable',
        `${this.name} could not be reached. Try again later, or ask an administrator to check the single sign-on settings.`,
        `discovery_failed: ${describe(error)}`,
      );
    }
  }

  /** The URL that starts the sign-in at the provider. */
  async authorizationUrl(flow: FlowSecrets): Promise<URL> {
    const configuration = await this.configuration();
    return client.buildAuthorizationUrl(configuration, {
      redirect_uri: flow.redirectUri,
      scope: SSO_SCOPES,
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * Checks the provider's answer (state, issuer), exchanges the code with the PKCE verifier, validates
   * the ID token (signature, issuer, audience, expiry, nonce) and reads the email — from the ID token,
   * or from the UserInfo endpoint for providers that put only `sub` in it.
   */
  async verify(callback: URL, flow: FlowSecrets): Promise<VerifiedIdentity> {
    const configuration = await this.configuration();
    // The provider's parameters on the redirect URI the flow was started with: the token request
    // must name exactly that URI.
    const current = new URL(flow.redirectUri);
    for (const [k, v] of callback.searchParams) current.searchParams.append(k, v);
    try {
      const tokens = await client.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new SsoRefusal(401, 'sso_invalid_response', this.#unverifiable(), 'id_token_missing');
      let email: unknown = claims.email;
      let emailVerified: unknown = claims.email_verified;
      if (typeof email !== 'string') {
        const info = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
        email = info.email;
        emailVerified = info.email_verified;
      }
      return {
        issuer: claims.iss,
        subject: claims.sub,
        email: typeof email === 'string' ? email : null,
        emailVerified: typeof emailVerified === 'boolean' ? emailVerified : null,
      };
    } catch (error) {
      throw this.#refusal(error);
    }
  }

  #unverifiable(): string {
    return `The answer from ${this.name} could not be verified. Start the sign-in again.`;
  }

  #refusal(error: unknown): SsoRefusal {
    if (error instanceof SsoRefusal) return error;
    if (error instanceof client.AuthorizationResponseError) {
      const said = error.error_description ? `${error.error_description} (${error.error})` : error.error;
      return new SsoRefusal(401, 'sso_denied', `${this.name} did not sign you in: ${said}`, `provider_error: ${error.error}`);
    }
    if (error instanceof client.ResponseBodyError) return new SsoRefusal(401, 'sso_invalid_response', this.#unverifiable(), `token_error: ${error.error}`);
    if (isUnreachable(error))
      return new SsoRefusal(502, 'sso_provider_unreachable', `${this.name} could not be reached. Try again later.`, `provider_unreachable: ${describe(error)}`);
    return new SsoRefusal(401, 'sso_invalid_response', this.#unverifiable(), `response_rejected: ${describe(error)}`);
  }
}

function isUnreachable(error: unknown): boolean {
  return error instanceof TypeError && /fetch failed/i.test(error.message);
}

/** openid-client's errors keep the precise check that failed in `cause` ("unexpected ID Token "nonce" claim value"). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`.slice(0, 500);
}

export function randomFlowSecrets(redirectUri: string): FlowSecrets {
  return {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: client.randomPKCECodeVerifier(),
    redirectUri,
  };
}
