/**
 * The libsql-server harnesses start from a copy of a template (testing-sqld.ts) instead of migrating and
 * seeding over HTTP. Runs in the `server-libsql` project only: a real migrate-and-seed on the libsql
 * server and a copy must give the same database, with an audit chain that verifies.
 */
import { afterEach, expect, test } from 'vitest';
import { verifyAudit } from './audit-checkpoint.ts';
import type { Db } from './db.ts';
import { harness, type Harness } from './testing.ts';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function shape(db: Db) {
  const objects = await db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex%' ORDER BY type, name");
  const counts: Record<string, number> = {};
  for (const o of objects.rows.filter((r) => r.type === 'table'))
    counts[String(o.name)] = Number((await db.execute(`SELECT count(*) AS n FROM "${String(o.name)}"`)).rows[0]!.n);
  return { objects: objects.rows.map((r) => ({ ...r })), counts };
}

test.each([true, false])('a copy of the template (seed: %s) is the database a real migrate-and-seed on the libsql server makes', async (seed) => {
  expect(process.env.ACCESSLENS_TEST_DB).toBe('sqld');
  const fresh = await harness({ seed, fresh: true });
  const copy = await harness({ seed });
  open.push(fresh, copy);
  expect(copy.url).toMatch(/^http:/);
  const [a, b] = [await shape(fresh.db), await shape(copy.db)];
  expect(b.objects).toEqual(a.objects);
  expect(b.counts).toEqual(a.counts);
  if (seed) expect(a.counts.audit_events).toBeGreaterThan(0);
  expect(await verifyAudit(copy.db, copy.secrets.keyRing)).toEqual(await verifyAudit(fresh.db, fresh.secrets.keyRing));
  if (seed) expect(await verifyAudit(copy.db, copy.secrets.keyRing)).toMatchObject({ ok: true, events: a.counts.audit_events });
  // Each copy is a database of its own to the clients that sync with it.
  const instance = async (h: Harness) => String((await h.db.execute('SELECT instance_id FROM meta')).rows[0]!.instance_id);
  const another = await harness({ seed });
  open.push(another);
  expect(await instance(another)).not.toBe(await instance(copy));
  // And the copy works: a demo person signs in and pulls.
  if (seed) {
    const slice = await copy.pull(await copy.signIn('ava@acme.test'));
    expect(slice.me?.email).toBe('ava@acme.test');
    expect(slice.accounts.length).toBeGreaterThan(0);
  }
});
