import type { MeResponse } from '@accesslens/shared';
import { Hono } from 'hono';
import { requireSession } from '../auth/require-session.ts';
import type { Env } from '../env.ts';

export const me = new Hono<Env>().get('/', requireSession, (c) =>
  c.json({ person: c.var.person, session: { expiresAt: c.var.session.expiresAt.toISOString() } } satisfies MeResponse, 200),
);
