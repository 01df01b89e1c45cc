import { harness } from '../src/testing.ts';
const h = await harness();
const token = await h.signIn('ava@acme.test');
const first = await h.pull(token);
const H = { headers: { Authorization: `Bearer ${token}` } };
const url = `/api/sync?cursor=${encodeURIComponent(first.cursor)}`;
for (let i = 0; i < 60000; i++) await h.app.request(url, H);
await h.close();
