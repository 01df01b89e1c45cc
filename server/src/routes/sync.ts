import { syncQuery, unchangedPull } from '@accesslens/shared';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { requireSession } from '../auth/require-session.ts';
import { validate, type Env } from '../env.ts';
import { sweepIfDue } from '../expiry.ts';
import { formatCursor, parseCursor } from '../sync/cursor.ts';
import { readSlice, toSyncResponse } from '../sync/slice.ts';

export const KEEP_ALIVE_MS = 20_000;


export const sync = new Hono<Env>()
  .get('/', requireSession, validate('query', syncQuery), async (c) => {
    const { db, person, notifier, findings } = c.var;
    let position = c.var.position;
    if ((await sweepIfDue(db, c.var.now(), notifier, findings)) > 0) {
      const meta = await db.execute('SELECT instance_id, version FROM meta WHERE id = 1');
      position = { instanceId: String(meta.rows[0]!.instance_id), version: Number(meta.rows[0]!.version) };
    }
    const { cursor } = c.req.valid('query');
    const from = cursor === undefined ? null : parseCursor(cursor);
    if (from && from.instanceId === position.instanceId) {
      // The hot path: nothing anywhere changed since the cursor; the session read already told us.
      if (from.version === position.version)
        return c.json(unchangedPull(formatCursor(position)), 200);
      if (from.version < position.version) {
        const delta = await readSlice(db, person.id, from.version);
        // Past a change of what this person may see, "changed since" is not enough: start over.
        if (from.version >= delta.sliceVersion) return c.json(toSyncResponse(delta, false), 200);
      }
    }
    // No cursor, or one this database cannot serve (malformed, foreign, ahead, too old).
    return c.json(toSyncResponse(await readSlice(db, person.id, -1), true), 200);
  })
  .get('/events', requireSession, (c) => {
    const { notifier, person } = c.var;
    return streamSSE(c, async (stream) => {
      let pending = false;
      let closed = false;
      let wake: (() => void) | null = null;
      const rouse = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      const unsubscribe = notifier.subscribe(person.id, {
        poke: () => {
          pending = true;
          rouse();
        },
        close: () => {
          closed = true;
          rouse();
        },
      });
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
  });
