import { Hono } from 'hono';
import type { Env } from '../env.ts';

export const health = new Hono<Env>().get('/', (c) => c.json({ ok: true as const }, 200));
