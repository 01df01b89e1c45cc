import { hc } from 'hono/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppType } from '../app.ts';
import { harness, type Harness } from '../testing.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness({ seed: false });
});
afterEach(async () => {
  await h.close();
});

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
}

async function document(): Promise<Doc> {
  const res = await h.get(null, '/api/openapi.json');
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

/** Every route the app serves, as OpenAPI path + method (middleware entries are method ALL). */
function servedRoutes(): { path: string; method: string }[] {
  const seen = new Set<string>();
  const out: { path: string; method: string }[] = [];
  for (const r of h.app.routes) {
    if (r.method === 'ALL') continue;
    const path = r.path.replace(/\/$/, '').replaceAll(/:([^/]+)/g, '{$1}') || '/';
    const key = `${r.method} ${path}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path, method: r.method.toLowerCase() });
    }
  }
  return out;
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document, public, with request and response schemas from the zod schemas', async () => {
    const doc = await document();
    expect(doc.openapi).toBe('3.1.0');
    const signIn = doc.paths['/api/auth/sign-in']!.post!;
    expect(JSON.stringify(signIn.requestBody)).toContain('"email"');
    expect(JSON.stringify(signIn.responses['200'])).toContain('"token"');
    expect(JSON.stringify(signIn.responses['400'])).toContain('"issues"');
    const people = doc.paths['/api/admin/people']!.get!;
    const schema = JSON.stringify(people.responses['200']!.content!['application/json']!.schema);
    for (const field of ['email', 'name', 'department', 'title', 'managerId', 'hireDate', 'status', 'trainings']) expect(schema).toContain(`"${field}"`);
  });

  it('describes every route the app serves, so a new route cannot skip it', async () => {
    const doc = await document();
    const served = servedRoutes();
    expect(served.length).toBeGreaterThan(15);
    const missing = served.filter((r) => !doc.paths[r.path]?.[r.method]).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
    // And nothing documented that is not served.
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`));
    const servedKeys = new Set(served.map((r) => `${r.method} ${r.path}`));
    expect(documented.filter((d) => !servedKeys.has(d))).toEqual([]);
  });

  it('keeps the 400 shape: a body sent without a JSON Content-Type is validated as empty', async () => {
    const res = await h.app.request('/api/auth/sign-in', { method: 'POST', body: JSON.stringify({ email: 'a@b.test', password: 'x' }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; field: string } }).error).toMatchObject({ code: 'invalid_input', field: 'email' });
  });

  it('AppType still types a client: paths, query, bodies and responses come from the route declarations', async () => {
    const seeded = await harness();
    try {
      const client = hc<AppType>('http://accesslens.test', {
        fetch: (input: string | URL | Request, init?: RequestInit) => seeded.app.request(input instanceof Request ? input.url : input, init),
      });
      const signIn = await client.api.auth['sign-in'].$post({ json: { email: 'cara@acme.test', password: 'cara-demo-2026' } });
      expect(signIn.status).toBe(200);
      if (signIn.status !== 200) return;
      const { token } = await signIn.json();
      const people = await client.api.admin.people.$get({ query: { q: 'Ava', limit: '5' } }, { headers: { Authorization: `Bearer ${token}` } });
      expect(people.status).toBe(200);
      if (people.status !== 200) return;
      const body = await people.json();
      // Typed: `people[0].managerId` is string | null.
      const manager: string | null | undefined = body.people[0]?.managerId;
      expect(manager).toBe('p-ben');
    } finally {
      await seeded.close();
    }
  });
});
