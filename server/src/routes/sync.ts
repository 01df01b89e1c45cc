import { syncQuery, syncResponse, unchangedPull, type SyncResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { requireSession } from '../auth/require-session.ts';
import { fastJsonText, type JsonText } from '../cors.ts';
import type { Db } from '../db.ts';
import type { DbPosition } from '../env.ts';
import { apiRoutes, bearer, errors, json } from '../openapi.ts';
import { sweepIfDue } from '../expiry.ts';
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
