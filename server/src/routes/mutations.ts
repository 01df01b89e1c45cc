import { mutationsBody, type MutationsResponse } from '@accesslens/shared';
import { Hono } from 'hono';
import { requireSession } from '../auth/require-session.ts';
import { validate, type Env } from '../env.ts';
import { applyMutations } from '../mutations/index.ts';
import { formatCursor } from '../sync/cursor.ts';

export const mutations = new Hono<Env>().post('/', requireSession, validate('json', mutationsBody), async (c) => {
  const { db, person, notifier, findings } = c.var;
  const results = await applyMutations(db, person, c.req.valid('json').mutations, c.var.now, findings, notifier);
  // The position at which every effect of this batch is visible: a pull that returns this cursor
  // (or a later one) has seen them.
  const meta = await db.execute('SELECT instance_id, version FROM meta WHERE id = 1');
  const cursor = formatCursor({ instanceId: String(meta.rows[0]!.instance_id), version: Number(meta.rows[0]!.version) });
  return c.json({ results, cursor } satisfies MutationsResponse, 200);
});
