/**
 * "Does the grant work now?" asked of Salesforce's current-user APIs, here in the background: the org's
 * session id (the `sid` cookie of its My Domain host, which alone has API access — the Lightning host's
 * does not; shared/reference/crm-pages.md, "Salesforce › APIs", and Salesforce Inspector Reloaded's
 * addon/background.js, which reads the same cookie in its background for the same reason) is a CRM
 * credential. It is read with the `cookies` API, used as a Bearer token for these calls only, and never
 * stored, logged, sent to a content script or to the AccessLens server. What goes back to the page is the
 * verdict: booleans per action, and which method answered.
 *
 * Calls (REST API Developer Guide; each answered by test/fakes/salesforce.ts with the documented shape):
 * - GET /services/data/vXX.X/ ("Resources by Version"): its `identity` URL ends with the user's id
 *   (`…/id/{orgId}/{userId}`), the current user without Chatter or a connected app.
 * - GET /services/data/vXX.X/tooling/query/?q= … FROM UserEntityAccess WHERE UserId = … AND
 *   EntityDefinition.QualifiedApiName = … (Tooling API, "UserEntityAccess": queries need a filter on the
 *   user side and the entity side).
 * - GET /services/data/vXX.X/query/?q= … FROM UserRecordAccess WHERE UserId = … AND RecordId = …
 *   (Object Reference, "UserRecordAccess": `UserId = [single ID] AND RecordId = [single ID]`).
 */
import { isApiName, isSalesforceId, salesforce, salesforceApiHost, salesforceVerdict, type ObservedPage, type Result } from '@accesslens/shared';
import type { LiveCheckAnswer, LiveUnavailable } from '../../utils/protocol';

/** The same version the connector reads (server/src/connectors/salesforce.ts). */
export const SALESFORCE_API_VERSION = 'v62.0';

export interface LiveCheckDeps {
  fetch: (input: string, init?: RequestInit) => Promise<Response>;
  /** A cookie's value for a URL (the `cookies` API) in a cookie store (the page's tab's); null when absent or not allowed. */
  cookie?: (url: string, name: string, storeId?: string) => Promise<string | null>;
  /** Who is behind a session, from earlier checks (none: every check asks). */
  liveMemory?: LiveCheckMemory;
}

const MAX_REMEMBERED = 1000;

/**
 * Who is behind a session, remembered between checks in the worker's memory only (gone when it sleeps;
 * never stored), keyed by a digest of the session id — never the id. Salesforce counts every API call
 * against the org's daily limit and a grant in force is checked on every load of its pages: the user's
 * id cannot change within a session, so it is asked once per session (a record page then costs two calls,
 * any other page one). What the user may do is asked every time: a grant taken away in the CRM shows at
 * the next load.
 */
export class LiveCheckMemory {
  readonly #users = new Map<string, string>();

  user(session: string): string | undefined {
    return this.#users.get(session);
  }

  rememberUser(session: string, userId: string): void {
    if (this.#users.size >= MAX_REMEMBERED) this.#users.clear();
    this.#users.set(session, userId);
  }
}

/** A digest of the session id (hex SHA-256): what the memory keys the user by. */
async function sessionDigest(sid: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sid)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const USER_ID = /^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$/;

class Unavailable extends Error {
  constructor(readonly reason: LiveUnavailable) {
    super(reason);
  }
}

const none = (reason: LiveUnavailable): Result<LiveCheckAnswer> => ({ ok: true, verdict: null, unavailable: reason });

/** `storeId`: the cookie store of the page's tab (Firefox containers and private windows), as Salesforce Inspector Reloaded reads it. */
export async function pageCheck(deps: LiveCheckDeps, host: string, page: ObservedPage, storeId?: string): Promise<Result<LiveCheckAnswer>> {
  const hostname = host.replace(/:\d+$/, '');
  if (page.crm !== 'salesforce' || !salesforce.isHost(hostname) || !deps.cookie) return none('unsupported');
  const apiHost = salesforceApiHost(hostname);
  const object = page.object;
  if (!apiHost || !object || !isApiName(object)) return none('unsupported');
  let sid: string | null = null;
  try {
    sid = await deps.cookie(`https://${apiHost}/`, 'sid', storeId);
  } catch {
    sid = null;
  }
  if (!sid) return none('no-session');
  const base = `https://${apiHost}/services/data/${SALESFORCE_API_VERSION}`;
  const get = async (path: string): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await deps.fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${sid}`, Accept: 'application/json' }, credentials: 'omit' });
    } catch {
      throw new Unavailable('unreachable');
    }
    // 401 INVALID_SESSION_ID, 403 API_CURRENTLY_DISABLED / INSUFFICIENT_ACCESS, 400 on an object it will not answer for.
    if (!res.ok) throw new Unavailable(res.status >= 500 ? 'unreachable' : 'refused');
    try {
      return (await res.json()) as Record<string, unknown>;
    } catch {
      throw new Unavailable('unreachable');
    }
  };
  const firstRecord = async (path: string, soql: string): Promise<Record<string, unknown> | null> => {
    try {
      const answer = await get(`${path}?q=${encodeURIComponent(soql)}`);
      const records = answer.records;
      return Array.isArray(records) && records[0] && typeof records[0] === 'object' ? (records[0] as Record<string, unknown>) : null;
    } catch (e) {
      if (e instanceof Unavailable) return null;
      throw e;
    }
  };
  const memory = deps.liveMemory;
  try {
    const session = memory ? `${apiHost} ${storeId ?? ''} ${await sessionDigest(sid)}` : '';
    let userId = memory?.user(session);
    if (userId === undefined) {
      const identity = String((await get('/')).identity ?? '');
      userId = identity.split('/').at(-1) ?? '';
      if (!USER_ID.test(userId)) return none('refused');
      memory?.rememberUser(session, userId);
    }
    const recordId = page.recordId && isSalesforceId(page.recordId) ? page.recordId : null;
    const [entity, record] = await Promise.all([
      firstRecord(
        '/tooling/query/',
        `SELECT DurableId, IsReadable, IsCreatable, IsEditable, IsDeletable FROM UserEntityAccess WHERE UserId = '${userId}' AND EntityDefinition.QualifiedApiName = '${object}'`,
      ),
      recordId
        ? firstRecord(
            '/query/',
            `SELECT RecordId, HasReadAccess, HasEditAccess, HasDeleteAccess, MaxAccessLevel FROM UserRecordAccess WHERE UserId = '${userId}' AND RecordId = '${recordId}'`,
          )
        : Promise.resolve(null),
    ]);
    if (!entity && !record) return none('refused');
    return { ok: true, verdict: salesforceVerdict(entity, record), unavailable: null };
  } catch (e) {
    if (e instanceof Unavailable) return none(e.reason);
    throw e;
  }
}
