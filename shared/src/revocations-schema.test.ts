import { describe, expect, it } from 'vitest';
import { DEFAULT_REVOCATION_POLICY, endOfDay, revocationModeFor, revocationPolicy, revocationReasonText, revocationTimeZoneFor } from './revocations-schema.ts';
import { policyDocument } from './policy-schema.ts';

describe('endOfDay', () => {
  const at = (iso: string, zone: string) => endOfDay(new Date(iso), zone).toISOString();

  it('is the next local midnight of the zone', () => {
    expect(at('2026-03-02T09:00:00.000Z', 'UTC')).toBe('2026-03-03T00:00:00.000Z');
    // 17:00 in Shanghai (UTC+8): midnight there is 16:00 UTC the same day.
    expect(at('2026-03-02T09:00:00.000Z', 'Asia/Shanghai')).toBe('2026-03-02T16:00:00.000Z');
    // 01:00 on 3 March in Shanghai is still 2 March in UTC: its day ends on 3 March, 16:00 UTC.
    expect(at('2026-03-02T17:00:00.000Z', 'Asia/Shanghai')).toBe('2026-03-03T16:00:00.000Z');
    // West of Greenwich: 22:00 on 1 March in Los Angeles (UTC-8) ends at 08:00 UTC on 2 March.
    expect(at('2026-03-02T06:00:00.000Z', 'America/Los_Angeles')).toBe('2026-03-02T08:00:00.000Z');
    // Exactly midnight is the start of a day: it ends 24 hours later.
    expect(at('2026-03-03T00:00:00.000Z', 'UTC')).toBe('2026-03-04T00:00:00.000Z');
    // Half-hour zones.
    expect(at('2026-03-02T09:00:00.000Z', 'Asia/Kolkata')).toBe('2026-03-02T18:30:00.000Z');
  });

  it('follows daylight saving time: the offset at that midnight counts', () => {
    // New York springs forward on 8 March 2026 (02:00 EST → 03:00 EDT).
    expect(at('2026-03-08T03:00:00.000Z', 'America/New_York')).toBe('2026-03-08T05:00:00.000Z'); // 22:00 EST on 7 March
    expect(at('2026-03-08T12:00:00.000Z', 'America/New_York')).toBe('2026-03-09T04:00:00.000Z'); // 08:00 EDT on 8 March
    // Berlin falls back on 25 October 2026.
    expect(at('2026-10-25T12:00:00.000Z', 'Europe/Berlin')).toBe('2026-10-25T23:00:00.000Z');
  });
});

describe('revocationPolicy', () => {
  it('defaults: departures and suspensions at once, moves at the end of the day, UTC', () => {
    expect(revocationPolicy.parse({})).toEqual(DEFAULT_REVOCATION_POLICY);
    expect(policyDocument.parse({}).revocations).toEqual(DEFAULT_REVOCATION_POLICY);
  });

  it('a connection may differ per cause; a department may have its own time zone', () => {
    const p = revocationPolicy.parse({
      moved: 'task',
      departmentTimeZones: [{ department: 'Sales APAC', timeZone: 'Asia/Shanghai' }],
      connections: [{ connectionId: 'sf-acme', departed: 'end-of-day' }],
    });
    expect(revocationModeFor(p, 'departed', 'sf-acme')).toBe('end-of-day');
    expect(revocationModeFor(p, 'moved', 'sf-acme')).toBe('task');
    expect(revocationModeFor(p, 'departed', 'hs-acme')).toBe('immediately');
    expect(revocationTimeZoneFor(p, 'Sales APAC')).toBe('Asia/Shanghai');
    expect(revocationTimeZoneFor(p, 'Finance')).toBe('UTC');
  });

  it('names what is wrong', () => {
    const issues = (v: unknown) => revocationPolicy.safeParse(v).error?.issues.map((i) => [i.path.join('.'), i.message]);
    expect(issues({ departed: 'later' })?.[0]?.[0]).toBe('departed');
    expect(issues({ timeZone: 'Moon/Base' })).toEqual([['timeZone', 'must be an IANA time zone such as UTC, Europe/Berlin or Asia/Shanghai']]);
    expect(issues({ connections: [{ connectionId: 'a' }, { connectionId: 'a' }] })).toEqual([['connections.1.connectionId', '"a" is listed twice']]);
    expect(
      issues({
        departmentTimeZones: [
          { department: 'X', timeZone: 'UTC' },
          { department: 'X', timeZone: 'UTC' },
        ],
      }),
    ).toEqual([['departmentTimeZones.1.department', '"X" is listed twice']]);
    expect(issues({ extra: true })?.[0]?.[0]).toBe('');
  });
});

describe('revocationReasonText', () => {
  it('says why in English and Chinese', () => {
    const from = { status: 'active' as const, department: 'Sales', title: 'Sales Manager' };
    const to = { status: 'active' as const, department: 'Finance', title: 'Financial Analyst' };
    expect(revocationReasonText('moved', from, to, 'en')).toBe(
      "Moved from Sales / Sales Manager to Finance / Financial Analyst: outside the new job's baseline",
    );
    expect(revocationReasonText('moved', from, to, 'zh-CN')).toBe('岗位由 Sales / Sales Manager 调整为 Finance / Financial Analyst：超出新岗位基线的权限');
    expect(revocationReasonText('departed', from, { ...from, status: 'departed' }, 'zh-CN')).toBe('已离职：移除该账户的全部权限');
    expect(revocationReasonText('deactivated', from, { ...from, status: 'suspended' }, 'en')).toBe('Suspended: everything the account holds is removed');
  });
});
