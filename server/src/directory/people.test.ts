import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../testing.ts';
import { newPersonId, PERSON_RECORD_COLUMNS, personRecordFromRow, readAllPersonRecords } from './people.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('readAllPersonRecords', () => {
  it('reads every person exactly as the row mapper does, across pages', async () => {
    await h.db.execute(
      `UPDATE people SET name = '李伟 "Li"', scim_user_name = 'UPN\\li', external_id = 'x-1', hire_date = NULL, manager_id = NULL WHERE id = 'p-ava'`,
    );
    const rows = await h.db.execute(`SELECT ${PERSON_RECORD_COLUMNS} FROM people p ORDER BY p.rowid`);
    const expected = rows.rows.map(personRecordFromRow);
    for (const page of [3, 11, 20_000]) {
      const got = await h.db.transaction((tx) => readAllPersonRecords(tx, page));
      expect(got).toEqual(expected);
    }
    expect(expected.find((p) => p.id === 'p-ava')).toMatchObject({ name: '李伟 "Li"', scimUserName: 'UPN\\li', managerId: null, hireDate: null });
  });
});

describe('newPersonId', () => {
  it('makes distinct ids that sort in the order they were made', () => {
    const ids = Array.from({ length: 5000 }, () => newPersonId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 10)) expect(id).toMatch(/^p-[0-9a-z]{25}$/);
  });
});
