import { harness } from '../src/testing.ts';
const h = await harness();
const token = await h.signIn('ava@acme.test');
const first = await h.pull(token);
const H = { headers: { Authorization: `Bearer ${token}` } };
const url = `/api/sync?cursor=${encodeURIComponent(first.cursor)}`;
async function time(name: string, f: () => Promise<unknown>, n = 20000) {
  for (let i = 0; i < 2000; i++) await f();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await f();
  const c = process.cpuUsage(c0);
  console.log(name, ((c.user + c.system) / n).toFixed(1), 'µs cpu/call');
}
const { Hono } = await import('hono');
const bare = new Hono().get('/', (c) => c.text('Hello Hono!'));
await time('bare', () => Promise.resolve(bare.request('/')));
await time('health', () => Promise.resolve(h.app.request('/api/health')));
await time('me', () => Promise.resolve(h.app.request('/api/me', H)));
await time('sync', () => Promise.resolve(h.app.request(url, H)));
await h.close();
