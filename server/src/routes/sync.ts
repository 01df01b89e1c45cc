import { syncQuery, syncResponse, unchangedPull, type SyncResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requireSession } from '../auth/require-session.ts';
import { bearerToken, validateCachedSession } from '../auth/session.ts';
import { fastJsonText, type JsonHeadersFor, type JsonText } from '../cors.ts';
import type { Db } from '../db.ts';
import type { DbPosition } from '../env.ts';
import { apiRoutes, bearer, errors, json } from '../openapi.ts';
import { isSweepDue, sweepIfDue } from '../expiry.ts';
import { formatCursor, parseCursor } from '../sync/cursor.ts';
import { sharedSliceRead, toSyncResponse } from '../sync/slice.ts';

export const KEEP_ALIVE_MS = 20_000;

/** A sync response already serialised. */
type SyncJson = JsonText<SyncResponse>;

async function readPosition(db: Db): Promise<DbPosition> {
  const meta = await db.execute('SELECT instance_id, version FROM meta WHERE id = 1');
  return { instanceId: String(meta.rows[0]!.instance_id), version: Number(meta.rows[0]!.version) };
}

/** The unchanged pull's JSON depends on the cursor alone: made once per cursor (the latest one kept). */
let unchanged: { cursor: string; text: SyncJson } | null = null;
function unchangedBody(cursor: string): SyncJson {
  if (unchanged?.cursor !== cursor) unchanged = { cursor, text: JSON.stringify(unchangedPull(cursor)) as SyncJson };
  return unchanged.text;
}

/** What the unchanged pull's own path needs: the app's database, clock and header sets. */
export interface UnchangedPullDeps {
  db: Db;
  now: () => Date;
  headersFor: JsonHeadersFor;
}

const UNCHANGED_PREFIX = '/api/sync?cursor=';

/**
 * Answers an unchanged pull straight from Node's HTTP server, before Hono, or declines (`false`, or a
 * promise of `false`) and the request goes to the app as usual. The one request the extension makes
 * all the time — every 30 s per client, and from every client at once after a poke — spent most of its
 * time in the framework (routing, the request and context objects, the query validator; issue 10).
 *
 * It answers only what the route above would answer with the same bytes, from the same rules: the
 * exact form `GET /api/sync?cursor=<cursor>` (nothing else in the query), one Bearer token
 * (`bearerToken`) whose session is in memory and confirmed by this request's own read of the revocation
 * counter (`validateCachedSession`, the check every route makes), no expiry sweep due, and a cursor
 * equal to the database's position. The headers are the app's own set for the origin (`headersFor`,
 * cors.ts). Everything else — a session to read or refresh, a change, a sweep, a malformed query, an
 * error — is declined before anything is written, and the app answers it (and says why).
 */
export function unchangedPullListener({ db, now, headersFor }: UnchangedPullDeps) {
  return (req: IncomingMessage, res: ServerResponse): Promise<boolean> | false => {
    const url = req.url;
    if (req.method !== 'GET' || url === undefined || !url.startsWith(UNCHANGED_PREFIX)) return false;
    const cursor = url.slice(UNCHANGED_PREFIX.length);
    if (parseCursor(cursor) === null) return false;
    // Node keeps the first of several Authorization headers, the app sees them joined: only one.
    const raw = req.rawHeaders;
    let authorizations = 0;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') authorizations++;
    if (authorizations !== 1) return false;
    const token = bearerToken(req.headers.authorization);
    const at = now();
    if (token === null || isSweepDue(db, at)) return false;
    return validateCachedSession(db, token, at).then(
      (session) => {
        if (!session?.ok || cursor !== formatCursor(session.position)) return false;
        res.writeHead(200, headersFor(req.headers.origin));
        res.end(unchangedBody(cursor));
        return true;
      },
      () => false,
    );
  };
}

const pullRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['sync'],
  summary: "Changes in the caller's slice since a cursor",
  description: 'No cursor, or one the server cannot serve: `reset: true` and a full snapshot of the slice.',
  security: bearer,
  middleware: [requireSession] as const,
  request: { query: syncQuery },
  responses: { 200: json(syncResponse, 'The changes (or a snapshot) and the new cursor.'), ...errors(400, 401) },
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/events',
  tags: ['sync'],
  summary: 'Server-sent pokes: pull now',
  description: "`event: poke` whenever the caller's slice may have changed; a `: keep-alive` comment every 20 s.",
  security: bearer,
  middleware: [requireSession] as const,
  responses: {
    200: { description: 'An event stream.', content: { 'text/event-stream': { schema: z.string() } } },
    ...errors(401),
  },
});

export const sync = apiRoutes()
  .openapi(pullRoute, async (c) => {
    // c.get: c.var builds an object of every variable on each access, and this is the hot path.
    const db = c.get('db');
    let position = c.get('position');
    if ((await sweepIfDue(db, c.get('now')(), c.get('notifier'), c.get('findings'))) > 0) position = await readPosition(db);
    const { cursor } = c.req.valid('query');
    const from = cursor === undefined ? null : parseCursor(cursor);
    // The position was read with the session check of this very request (auth/session.ts), on any
    // database: a write through another process is seen by the next pull. A cursor ahead of it can only
    // come from a write that committed since: look again.
    if (from && from.instanceId === position.instanceId && from.version > position.version) position = await readPosition(db);
    if (from && from.instanceId === position.instanceId) {
      // The hot path: nothing anywhere changed since the cursor; the session read already told us.
      if (from.version === position.version) return fastJsonText(c, unchangedBody(formatCursor(position)));
      if (from.version < position.version) {
        const person = c.get('person');
        const delta = await sharedSliceRead(db, person.id, from.version, person.roles.includes('admin'), position.version);
        // Past a change of what this person may see, "changed since" is not enough: start over.
        if (from.version >= delta.read.sliceVersion) return fastJsonText(c, (delta.body ??= JSON.stringify(toSyncResponse(delta.read, false))) as SyncJson);
      }
    }
    // No cursor, or one this database cannot serve (malformed, foreign, ahead, too old).
    const person = c.get('person');
    const snapshot = await sharedSliceRead(db, person.id, -1, person.roles.includes('admin'), position.version);
    return fastJsonText(c, (snapshot.body ??= JSON.stringify(toSyncResponse(snapshot.read, true))) as SyncJson);
  })
  .openapi(eventsRoute, (c) => {
    const { notifier, person, session } = c.var;
    const response = streamSSE(c, async (stream) => {
      let pending = false;
      let closed = false;
      let wake: (() => void) | null = null;
      const rouse = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      const unsubscribe = notifier.subscribe(
        person.id,
        {
          poke: () => {
            pending = true;
            rouse();
          },
          close: () => {
            closed = true;
            rouse();
          },
        },
        session.id,
      );
      const stop = () => {
        closed = true;
        rouse();
      };
      stream.onAbort(stop);
      c.req.raw.signal.addEventListener('abort', stop, { once: true });
      const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      try {
        await stream.write(': connected\n\n');
        while (!closed && !stream.aborted) {
          if (pending) {
            pending = false;
            await stream.writeSSE({ event: 'poke', data: '{}' });
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        clearInterval(keepAlive);
        unsubscribe();
        c.req.raw.signal.removeEventListener('abort', stop);
      }
    });
    // A stream, not a JSON body: the document describes it as text/event-stream.
    return response as never;
  });
