/**
 * One effective-permission engine: for every demo account, every key the overlay decides and every
 * CRM kind, the overlay's page decision (decidePage on the person's synced slice) equals the
 * engine's (OrgEngine over the whole directory, the one behind findings, the preview and policy);
 * and request.create's "already held" check answers as the engine does.
 */
import {
  CRM_KINDS,
  OBJECT_ACTIONS,
  OrgEngine,
  applySync,
  decidePage,
  mutationsResponse,
  objectPermissionKey,
  parsePermissionKey,
  type CrmKind,
} from '@accesslens/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSlice, toSyncResponse } from '../sync/slice.ts';
import { runWrite } from '../write.ts';
import { createMutation, harness, type Harness } from '../testing.ts';
import { DEMO_CONNECTION_ID, DEMO_PEOPLE } from '../seed/demo.ts';

const HOST = 'acme.lightning.force.com';

let h: Harness;
let engine: OrgEngine;
beforeAll(async () => {
  h = await harness();
  engine = await h.findings.ensureCurrent(h.clock.now());
});
afterAll(async () => {
  await h.close();
});

/** The objects of the demo catalog, and one no bundle names (org-wide permissions must reach it). */
function pageObjects(): string[] {
  const objects = new Set<string>();
  for (const c of engine.data.catalog.filter((x) => x.connectionId === DEMO_CONNECTION_ID)) {
    const p = parsePermissionKey(c.key);
    if (p.ok && p.value.kind === 'object') objects.add(p.value.object);
  }
  return [...objects, 'Invoice__c'].sort();
}

describe('the overlay decides as the engine does', () => {
  it.each(CRM_KINDS.map((k) => [k]))('for every demo account and every object key, as a %s connection', async (kind: CrmKind) => {
    const now = h.clock.now();
    // The same directory, read as a connection of `kind`: the engine with that kind's table …
    const data = engine.data;
    const asKind = new OrgEngine({ ...data, connections: data.connections.map((c) => (c.id === DEMO_CONNECTION_ID ? { ...c, kind } : c)) }, now);
    let decided = 0;
    for (const person of DEMO_PEOPLE) {
      // … and the overlay on the person's synced slice, the connection of that kind.
      const slice = applySync(null, toSyncResponse(await readSlice(h.db, person.id, -1), true));
      // (The demo org's other CRMs stay out of it: one connection per kind on this page.)
      slice.connections = slice.connections.filter((c) => c.id === DEMO_CONNECTION_ID).map((c) => ({ ...c, kind }));
      const account = slice.accounts.find((a) => a.connectionId === DEMO_CONNECTION_ID)!;
      expect(account, person.id).toBeDefined();
      for (const object of pageObjects()) {
        const page = {
          url: `https://${HOST}/lightning/o/${object}/list`,
          object,
          recordId: null,
          denialText: null,
          crm: kind,
          tenant: null,
          pageKind: 'list' as const,
        };
        const verdict = decidePage(slice, HOST, page, now);
        if (!account.active) {
          expect(verdict.state, `${person.id} has no active account`).toBe('no-account');
          continue;
        }
        expect(verdict.state).toBe('ready');
        if (verdict.state !== 'ready') continue;
        for (const [i, row] of verdict.decision.rows.entries()) {
          const key = objectPermissionKey(object, OBJECT_ACTIONS[i]!);
          expect(row.key).toBe(key);
          const overlay = row.state === 'allowed' || row.state === 'granted';
          expect(overlay, `${kind}: ${person.id} ${key}`).toBe(asKind.can(account.id, key));
          decided++;
        }
      }
    }
    expect(decided).toBeGreaterThan(300);
  });

  it('the Salesforce administrators are allowed every action on every object, including one no bundle names', async () => {
    const slice = applySync(null, toSyncResponse(await readSlice(h.db, 'p-cara', -1), true));
    for (const object of pageObjects()) {
      const verdict = decidePage(
        slice,
        HOST,
        { url: `https://${HOST}/`, object, recordId: null, denialText: null, crm: 'salesforce' as const, tenant: null, pageKind: 'list' as const },
        h.clock.now(),
      );
      if (verdict.state !== 'ready') throw new Error(verdict.state);
      expect(
        verdict.decision.rows.map((r) => r.state),
        object,
      ).toEqual(['allowed', 'allowed', 'allowed', 'allowed']);
    }
  });
});

describe('request.create: "already held" is the engine\'s decision', () => {
  it('a key held only through Modify All on the object is already held (Salesforce: Modify All requires Delete)', async () => {
    const now = h.clock.now();
    // Synced from Salesforce: Ava's account holds Modify All on Quote (not in the catalog).
    await runWrite(h.db, now, async (w) => {
      await w.tx.execute({
        sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
              VALUES ('asg-ava-quote-ma', 'acct-ava', 'permission', NULL, 'object:Quote:modifyAll', 'directory', NULL, ?, NULL, NULL, ?)`,
        args: [new Date(now.getTime() - 86_400_000).toISOString(), await w.version()],
      });
    });
    const ava = await h.signIn('ava@acme.test');
    const res = mutationsResponse.parse(await h.mutate(ava, [createMutation({ permissions: ['object:Quote:delete'], durationDays: 7 })]));
    expect(res.results[0]).toMatchObject({ status: 'rejected', error: { code: 'conflict', field: 'mutations.0.args.permissions.0' } });
    expect(JSON.stringify(res.results[0])).toContain('You already have object:Quote:delete');
    // The engine agrees; a key Modify All does not imply (Create) is not held.
    const current = await h.findings.ensureCurrent(h.clock.now());
    expect(current.can('acct-ava', 'object:Quote:delete')).toBe(true);
    expect(current.can('acct-ava', 'object:Quote:create')).toBe(false);
  });
});
