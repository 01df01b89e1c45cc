/**
 * Which AccessLens server URLs the extension talks to: https:// anywhere; plain http:// only to this
 * computer (localhost, 127.0.0.0/8, [::1]), where no network sees the session token go by. No zod here:
 * the extension's background checks every call with it.
 */

export const SERVER_URL_INSECURE = 'must be an https:// URL (http:// only for a server on this computer: localhost, 127.0.0.1 or [::1])';

/** Whether a URL's host is this computer. */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** Why the extension must not use `url` as its server, or null when it may. */
export function serverUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be an http(s) URL';
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && isLoopbackHostname(u.hostname)) return null;
  return SERVER_URL_INSECURE;
}
