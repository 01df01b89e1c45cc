/**
 * A property over every route's body (issue 10): whatever body a caller sends, the server never answers
 * with a 5xx, and every 400 names the field it refused (`error.field` in the API's shape; for SCIM, a
 * `detail` that begins with the attribute, as in "displayName: is required").
 *
 * The routes and their body schemas come from the OpenAPI document, which the OpenAPI test holds equal
 * to the app's route table, so a new route with a body is covered without an edit here. Bodies are
 * drawn from each route's own JSON schema with any node replaced, now and then, by an arbitrary JSON
 * value (wrong types, control characters, huge numbers, missing and unknown fields), so most bodies get
 * past the first check and reach the handlers; raw text that is mostly not JSON is sent too.
 *
 * Each route is called by someone its entry in the authorization matrix allows (the admin, Ava for
 * her own mutations, nobody for sign-in, a SCIM token for SCIM), so the handlers run, not just the
 * role check. `ACCESSLENS_PROPERTY_RUNS` raises the number of bodies per route (default 40).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
};

interface Operation {
  requestBody?: { content: Record<string, { schema: Schema }> };
}

const RUNS = Number(process.env.ACCESSLENS_PROPERTY_RUNS ?? 40);

/** Text that tends to break things: NUL, bidirectional overrides, lone surrogates, SQL and path bits. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    'a\u0000b',
    '\u202Eevil',
    '\uD800',
    "'; DROP TABLE people; --",
    '../../etc/passwd',
    '%00',
    'null',
    '__proto__',
    'constructor',
    'x'.repeat(5000),
  ),
);

/** Any JSON value, with the awkward numbers and strings weighted in. */
const wild: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: nastyString, weight: 2 },
  { arbitrary: fc.constantFrom(0, -1, 1.5, -0, 2 ** 53, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2), weight: 1 },
  { arbitrary: fc.constantFrom(null, true, false, [], {}, { __proto__: { admin: true } }), weight: 1 },
);

function resolve(schema: Schema, components: Record<string, Schema>): Schema {
  let s = schema;
  for (let i = 0; s.$ref && i < 20; i++) s = components[s.$ref.replace('#/components/schemas/', '')] ?? {};
  return s;
}

const FORMATS: Record<string, fc.Arbitrary<string>> = {
  uuid: fc.uuid(),
  email: fc.oneof(fc.emailAddress(), fc.constantFrom('ava@acme.test', 'eli@acme.test', 'dan@acme.test')),
  uri: fc.oneof(fc.webUrl(), fc.constantFrom('https://acme.lightning.force.com/lightning/r/Contract/800xx/view')),
  date: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  'date-time': fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
};

const date = FORMATS.date!;
const extensionId = 'a'.repeat(32);
/**
 * Plausible values for fields whose rules the JSON schema cannot say (refinements), by property name,
 * so that bodies get past those checks too and reach the handlers.
 */
const HINTS: Record<string, fc.Arbitrary<unknown>> = {
  redirectUri: fc.constantFrom(`https://${extensionId}.chromiumapp.org/oidc`, 'https://evil.test/oidc'),
  callbackUrl: fc.constantFrom(`https://${extensionId}.chromiumapp.org/oidc?code=x&state=y`, `https://${extensionId}.chromiumapp.org/oidc?error=access_denied`),
  connectionId: fc.constantFrom('sf-acme', 'desk-acme', 'no-such-connection'),
  path: fc.string({ maxLength: 30 }).map((p) => `/${p.replaceAll(/\s/g, '')}`),
  host: fc.constantFrom('acme.lightning.force.com', 'crm.acme.internal', 'localhost:8443'),
  termEndDate: date,
  completedOn: date,
  hireDate: date,
  seats: fc.integer({ min: 0, max: 100 }),
  userName: fc.constantFrom('new.person@acme.test', 'eli@acme.test', 'ava@acme.test'),
  email: fc.constantFrom('new.person@acme.test', 'eli@acme.test'),
  managerId: fc.constantFrom('p-ben', 'p-eli', 'p-ava', 'no-such-person'),
  personId: fc.constantFrom('p-ava', 'p-eli', 'no-such-person'),
  permissions: fc.array(fc.constantFrom('object:Contract:read', 'object:Quote:read', 'object:Account:edit', 'nonsense'), { minLength: 1, maxLength: 3 }),
};

/** A value shaped by `schema`, any node of which may be an arbitrary JSON value instead. */
function fromSchema(schema: Schema, components: Record<string, Schema>, depth = 0, name?: string): fc.Arbitrary<unknown> {
  const shaped = shapedBy(resolve(schema, components), components, depth);
  const hint = name ? HINTS[name] : undefined;
  return fc.oneof({ arbitrary: shaped, weight: hint ? 10 : 30 }, ...(hint ? [{ arbitrary: hint, weight: 20 }] : []), { arbitrary: wild, weight: 1 });
}

function shapedBy(s: Schema, components: Record<string, Schema>, depth: number): fc.Arbitrary<unknown> {
  if (depth > 8) return wild;
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((a) => fromSchema(a, components, depth + 1)));
  if (s.allOf?.length) return fromSchema(s.allOf[0]!, components, depth + 1);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum?.length) return fc.constantFrom(...s.enum);
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length === 0) return wild;
  return fc.oneof(...types.map((t) => ofType(t, s, components, depth)));
}

function ofType(type: string, s: Schema, components: Record<string, Schema>, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1000);
      const max = s.maximum ?? Math.max(min + 1000, 1000);
      const inRange = fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
      return fc.oneof(inRange, fc.constantFrom(min - 1, max + 1), type === 'number' ? fc.double({ noNaN: true, noDefaultInfinity: true }) : inRange);
    }
    case 'string': {
      if (s.format && FORMATS[s.format]) return fc.oneof({ arbitrary: FORMATS[s.format]!, weight: 4 }, { arbitrary: nastyString, weight: 1 });
      if (s.pattern) {
        const matching = fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? 1e6));
        return fc.oneof({ arbitrary: matching, weight: 4 }, { arbitrary: nastyString, weight: 1 });
      }
      const fits = fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 60, 60) });
      const edges = fc.constantFrom('x'.repeat(s.maxLength ?? 10_000), 'x'.repeat((s.maxLength ?? 10_000) + 1), '');
      return fc.oneof({ arbitrary: fits, weight: 4 }, { arbitrary: edges, weight: 1 }, { arbitrary: nastyString, weight: 1 });
    }
    case 'array': {
      const item = s.items ? fromSchema(s.items, components, depth + 1) : wild;
      const maxLength = Math.min(s.maxItems ?? 4, 4);
      return fc.array(item, { minLength: Math.min(s.minItems ?? 0, maxLength), maxLength });
    }
    case 'object': {
      const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, fromSchema(v, components, depth + 1, k)]));
      const record = fc.record(props, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
      // Sometimes a required field goes missing, sometimes an unknown one comes along.
      const rarely = <T>(a: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: a, weight: 1 });
      return fc
        .tuple(record, rarely(fc.dictionary(nastyString, wild, { maxKeys: 2 })), rarely(fc.constantFrom(...Object.keys(props), '__proto__')))
        .map(([r, extra, drop]) => {
          const out: Record<string, unknown> = { ...(extra ?? {}), ...r };
          if (drop !== null) delete out[drop];
          return out;
        });
    }
    default:
      return wild;
  }
}

/** CSV a people import might get: the real header or none, then rows of awkward cells. */
const csvBody = fc
  .tuple(
    fc.constantFrom('email,name,department,title,manager_email,hire_date,status,trainings\n', 'email,name\n', '', '\uFEFFemail,name,manager_email\n'),
    fc.array(fc.array(fc.oneof(nastyString, fc.emailAddress(), fc.constantFrom('"', '""', 'ava@acme.test', 'active', '2026-13-45')), { maxLength: 9 }), {
      maxLength: 6,
    }),
  )
  .map(([header, rows]) => header + rows.map((r) => r.join(',')).join('\n'));

let h: Harness;
let doc: { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };
const tokens: Record<string, string> = {};
let params: Record<string, string[]>;

beforeAll(async () => {
  h = await harness();
  tokens.admin = await h.signIn('cara@acme.test');
  tokens.requester = await h.signIn('ava@acme.test');
  const made = async (path: string, body: unknown) => {
    const res = await h.post(tokens.admin!, path, body);
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
    const json = (await res.json()) as Record<string, Record<string, unknown>>;
    return String((Object.values(json).find((v) => v && typeof v === 'object' && 'id' in v) ?? json).id);
  };
  const scim = (await (await h.post(tokens.admin!, '/api/admin/scim-tokens', { name: 'property-idp' })).json()) as { token: string };
  tokens.scim = scim.token;
  // An open admin task to mark done: Ava's Contract request approved by Ben.
  const request = createMutation();
  await h.mutate(tokens.requester!, [request]);
  await h.mutate(await h.signIn('ben@acme.test'), [decisionMutation(request.args.requestId, 'approve')]);
  const task = await h.db.execute("SELECT id FROM admin_tasks WHERE status = 'open' LIMIT 1");
  const findings = (await (await h.get(tokens.admin!, '/api/findings')).json()) as { findings: { id: string }[] };
  const pageRule = await h.db.execute('SELECT id FROM page_rules LIMIT 1');
  // Candidates for each path parameter: real ones (people other than the admin calling), and ones that are not.
  const ids = {
    group: await made('/api/admin/approver-groups', { name: 'Property group' }),
    training: await made('/api/admin/trainings', { id: 'property-training', title: 'Property' }),
    license: await made('/api/admin/licenses', { connectionId: 'sf-acme', name: 'Property licence', seats: 2 }),
  };
  params = {
    '/api/findings/{id}': [findings.findings[0]!.id],
    '/api/admin/page-rules/{id}': [String(pageRule.rows[0]!.id)],
    '/api/admin/people/{id}': ['p-eli', 'p-dan', 'p-ava'],
    '/api/admin/approver-groups/{id}': [ids.group, 'grp-deal-desk'],
    '/api/admin/trainings/{id}': [ids.training, 'sox-controls'],
    '{personId}': ['p-ava', 'p-eli'],
    '/api/admin/licenses/{id}': [ids.license],
    '/scim/v2/Users/{id}': ['p-eli', 'p-dan'],
    '/scim/v2/Groups/{id}': ['grp-deal-desk'],
    '/api/admin/connections/{id}': ['sf-acme', 'desk-acme'],
    '/api/admin/tasks/{id}': task.rows.map((r) => String(r.id)),
  };
  doc = (await (await h.get(null, '/api/openapi.json')).json()) as typeof doc;
});
afterAll(async () => {
  await h.close();
});

/** Fills `{id}` and `{personId}` from the candidates, or with something that names nothing. */
function pathFor(template: string): fc.Arbitrary<string> {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[0]);
  if (names.length === 0) return fc.constant(template);
  const prefix = template.slice(0, template.indexOf('{id}') + 4);
  const pick = (name: string) => {
    const known = (name === '{personId}' ? params['{personId}'] : params[prefix]) ?? [];
    return fc.oneof(
      { arbitrary: fc.constantFrom(...known, 'no-such-id'), weight: 5 },
      { arbitrary: nastyString.filter((v) => !/[\uD800-\uDFFF]/.test(v)).map(encodeURIComponent), weight: 1 },
    );
  };
  return fc.tuple(...names.map(pick)).map((values) => names.reduce((p, name, i) => p.replace(name, values[i] || 'x'), template));
}

function callerFor(path: string): string | null {
  if (path.startsWith('/scim/')) return tokens.scim!;
  if (path.startsWith('/api/auth/')) return null;
  if (path === '/api/mutations' || path === '/api/requests/preview') return tokens.requester!;
  return tokens.admin!;
}

/** What is wrong with this answer, or null: a 5xx, or a 400 that does not name a field. */
async function problemWith(res: Response, path: string): Promise<string | null> {
  const text = await res.text();
  if (res.status >= 500) return `${res.status} ${text.slice(0, 300)}`;
  if (res.status !== 400) return null;
  let body: { error?: { field?: unknown; code?: unknown }; detail?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return `400 that is not JSON: ${text.slice(0, 200)}`;
  }
  if (path.startsWith('/scim/')) {
    const detail = String(body.detail ?? body.error?.field ?? '');
    return /^\S+: /.test(detail) || (typeof body.error?.field === 'string' && body.error.field !== '')
      ? null
      : `SCIM 400 whose detail names no attribute: ${text.slice(0, 200)}`;
  }
  return typeof body.error?.field === 'string' && body.error.field !== '' ? null : `400 without error.field: ${text.slice(0, 200)}`;
}

describe('every route with a body: no 5xx, and every 400 names a field', () => {
  it('covers every route the document gives a body', () => {
    const withBody = Object.values(doc.paths).flatMap((methods) => Object.values(methods).filter((op) => op.requestBody));
    expect(withBody.length).toBeGreaterThan(25);
  });

  it('holds for bodies drawn from each route schema, for arbitrary JSON and for text that is not JSON', { timeout: 600_000 }, async () => {
    const components = doc.components?.schemas ?? {};
    const failures: string[] = [];
    let calls = 0;
    /** Routes where some body got past validation (any answer but 400): the handlers ran, not only the checks. */
    const reachedHandler = new Set<string>();
    for (const [template, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const content = op.requestBody?.content;
        if (!content) continue;
        const [mediaType, media] = Object.entries(content)[0]!;
        const isCsv = mediaType === 'text/csv';
        const raw = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('{', '{"a":', '[1,]', 'nul', '\u0000', '{"__proto__":{"x":1}}'));
        const body: fc.Arbitrary<{ text: string; type: string }> = isCsv
          ? csvBody.map((text) => ({ text, type: mediaType }))
          : fc.oneof(
              { arbitrary: fromSchema(media.schema, components).map((v) => ({ text: JSON.stringify(v) ?? 'null', type: mediaType })), weight: 8 },
              { arbitrary: wild.map((v) => ({ text: JSON.stringify(v) ?? 'null', type: mediaType })), weight: 1 },
              { arbitrary: raw.map((text) => ({ text, type: mediaType })), weight: 1 },
            );
        const query = isCsv ? fc.constantFrom('?dryRun=true', '') : fc.constant('');
        await fc
          .assert(
            fc.asyncProperty(pathFor(template), query, body, async (path, q, b) => {
              const token = callerFor(template);
              const headers: Record<string, string> = { 'Content-Type': b.type };
              if (token) headers.Authorization = `Bearer ${token}`;
              const res = await h.app.request(path + q, { method: method.toUpperCase(), headers, body: b.text });
              calls++;
              if (res.status !== 400) reachedHandler.add(`${method.toUpperCase()} ${template}`);
              const problem = await problemWith(res, template);
              if (problem) failures.push(`${method.toUpperCase()} ${path}${q} ${b.text.slice(0, 300)} → ${problem}`);
              return problem === null;
            }),
            { numRuns: RUNS, seed: Number(process.env.ACCESSLENS_PROPERTY_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
          )
          .catch((e: Error) => failures.push(`${method.toUpperCase()} ${template}: ${e.message.split('\n').slice(0, 6).join(' | ')}`));
      }
    }
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(25 * RUNS * 0.9);
    // Most routes saw bodies their handler acted on: the property is not only about the schema checks.
    expect(reachedHandler.size, [...reachedHandler].join(', ')).toBeGreaterThanOrEqual(18);
  });
});
