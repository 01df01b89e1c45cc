import { describe, expect, it } from 'vitest';
import { emptySlice, type AccessRequest, type Person, type Slice, type TimelineEntry } from '@accesslens/shared';
import { DEFAULT_NOTIFY_SETTINGS, withDefaults } from '../../utils/notify-settings';
import { BrowserNotifier, deriveEvents, plan, render, seenItem, type NotifyEvent } from './notifications';
import { setTestLocale } from '../../locales/testing';

// Two people of the demo org (server/src/seed/demo.ts) and its Salesforce connection: pure functions here, no server.
const ava: Person = {
  id: 'p-ava',
  email: 'ava@acme.test',
  name: 'Ava Chen',
  department: 'Sales',
  title: 'Account Executive',
  managerId: 'p-ben',
  status: 'active',
  roles: ['requester'],
};
const ben: Person = {
  ...ava,
  id: 'p-ben',
  email: 'ben@acme.test',
  name: 'Ben Ortiz',
  title: 'Sales Manager',
  managerId: 'p-dan',
  roles: ['requester', 'approver'],
};
const connection = { id: 'sf-acme' };

const T = '2026-03-02T09:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T) + minutes * 60_000).toISOString();
const entry = (kind: TimelineEntry['kind'], minutes: number, extra: Partial<TimelineEntry> = {}): TimelineEntry => ({
  at: at(minutes),
  kind,
  actorId: null,
  personIds: [],
  stage: 0,
  text: null,
  ...extra,
});

function request(id: string, extra: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id,
    requesterId: ava.id,
    connectionId: connection.id,
    accountId: 'a-p-ava',
    permissions: ['object:Contract:edit'],
    page: null,
    justification: 'Renewal',
    evidence: [],
    durationDays: 30,
    status: 'pending',
    stages: [{ kind: 'manager', label: 'Manager', keys: [], approverIds: [ben.id], required: 1, approvals: [], decision: null, escalated: false }],
    createdAt: T,
    updatedAt: T,
    decidedAt: null,
    grantedAt: null,
    expiresAt: null,
    timeline: [entry('submitted', 0, { actorId: ava.id, personIds: [ben.id] })],
    ...extra,
  };
}

const slice = (me: typeof ava, requests: AccessRequest[]): Slice => ({
  ...emptySlice(),
  me,
  people: [{ id: ava.id, name: ava.name, email: ava.email, title: ava.title }],
  catalog: [
    {
      connectionId: connection.id,
      key: 'object:Contract:edit',
      labels: { en: 'Edit Contracts', 'zh-CN': '编辑合同' },
      risk: 'medium',
      maxDurationDays: 30,
      requestable: true,
    },
  ],
  requests,
});

const kinds = (events: NotifyEvent[]) => events.map((e) => e.kind);

describe('notification events derived from the slice', () => {
  it("a requester's every step: submitted, needs info, approved, active, expiring, expired — and denied with its reason", () => {
    const r1 = request('r1');
    expect(kinds(deriveEvents(slice(ava, [r1]), ava.id))).toEqual(['submitted']);
    const asked = request('r1', { status: 'needs-info', timeline: [...r1.timeline!, entry('needs-info', 5, { actorId: ben.id, text: 'Which account?' })] });
    const e = deriveEvents(slice(ava, [asked]), ava.id);
    expect(kinds(e)).toEqual(['submitted', 'needs-info']);
    expect(e[1]!.text).toBe('Which account?');
    const life = request('r1', {
      status: 'expired',
      grantedAt: at(60),
      expiresAt: at(90),
      timeline: [
        ...asked.timeline!,
        entry('answered', 10),
        entry('approved', 20),
        entry('fulfilled', 60),
        entry('expiring', 80, { expiresAt: at(90) }),
        entry('expired', 90),
      ],
    });
    expect(kinds(deriveEvents(slice(ava, [life]), ava.id))).toEqual(['submitted', 'needs-info', 'expiring', 'approved', 'active', 'expired']);
    const denied = request('r2', { status: 'denied', timeline: [...r1.timeline!, entry('denied', 3, { actorId: ben.id, text: 'Not this quarter' })] });
    const d = deriveEvents(slice(ava, [denied]), ava.id);
    expect(kinds(d)).toEqual(['submitted', 'denied']);
    expect(d[1]!.text).toBe('Not this quarter');
  });

  it("an approver's new items and reminders; nothing of a request still only predicted by the outbox", () => {
    const waiting = request('r1', {
      timeline: [entry('submitted', 0), entry('reminded', 60 * 24, { personIds: [ben.id] }), entry('reminded', 60 * 48, { personIds: ['p-other'] })],
    });
    const e = deriveEvents(slice(ben, [waiting]), ben.id);
    expect(e.map((x) => x.key)).toEqual(['r1:new-item:0', `r1:reminder:${at(60 * 24)}`]);
    // Decided (no longer waiting for Ben): no reminder derived any more.
    const decided = request('r1', { status: 'approved', timeline: waiting.timeline! });
    expect(deriveEvents(slice(ben, [decided]), ben.id)).toEqual([]);
    // The extension's own prediction of a request carries no server timeline: not "submitted" yet.
    expect(deriveEvents(slice(ava, [request('r3', { timeline: undefined })]), ava.id)).toEqual([]);
  });

  it('plan: a first look records a baseline; afterwards only new events, each once; kinds turned off are remembered, not shown', () => {
    const first = deriveEvents(slice(ava, [request('r1')]), ava.id);
    const base = plan(first, null, ava.id, DEFAULT_NOTIFY_SETTINGS);
    expect(base.show).toEqual([]);
    expect(base.seen).toEqual({ personId: ava.id, keys: ['r1:submitted'] });
    const asked = request('r1', { status: 'needs-info', timeline: [...request('r1').timeline!, entry('needs-info', 5, { text: 'Which?' })] });
    const second = plan(deriveEvents(slice(ava, [asked, request('r2')]), ava.id), base.seen, ava.id, DEFAULT_NOTIFY_SETTINGS);
    expect(second.show.map((e) => e.key)).toEqual(['r1:needs-info:' + at(5), 'r2:submitted']);
    // Same slice again: nothing.
    expect(plan(deriveEvents(slice(ava, [asked, request('r2')]), ava.id), second.seen, ava.id, DEFAULT_NOTIFY_SETTINGS).show).toEqual([]);
    // "submitted" turned off: r3's is remembered without being shown, and stays silent when turned back on.
    const off = withDefaults({ submitted: false });
    const third = plan(deriveEvents(slice(ava, [asked, request('r2'), request('r3')]), ava.id), second.seen, ava.id, off);
    expect(third.show).toEqual([]);
    expect(third.seen.keys).toContain('r3:submitted');
    expect(plan(deriveEvents(slice(ava, [asked, request('r2'), request('r3')]), ava.id), third.seen, ava.id, DEFAULT_NOTIFY_SETTINGS).show).toEqual([]);
    // Another person signing in on this browser starts from their own baseline.
    expect(plan(deriveEvents(slice(ben, [request('r1')]), ben.id), third.seen, ben.id, DEFAULT_NOTIFY_SETTINGS).show).toEqual([]);
  });

  it('renders who, which permission and the question, in the browser language', () => {
    const asked = request('r1', { status: 'needs-info', timeline: [entry('needs-info', 5, { text: 'Which account?' })] });
    const view = slice(ava, [asked]);
    const [e] = deriveEvents(view, ava.id);
    expect(render(view, e!)).toEqual({ title: 'A question about your request', message: 'Edit Contracts: Which account?' });
    const [n] = deriveEvents(slice(ben, [request('r1')]), ben.id);
    expect(render(slice(ben, [request('r1')]), n!)).toEqual({ title: 'A request waits for you', message: 'Ava Chen asks for Edit Contracts.' });
    // In a Chinese browser: the catalog's Chinese label too.
    setTestLocale('zh-CN');
    expect(render(view, e!)).toEqual({ title: '审批人对您的申请有疑问', message: '编辑合同：Which account?' });
    expect(render(slice(ben, [request('r1')]), n!)).toEqual({ title: '有申请等待您审批', message: 'Ava Chen 申请 编辑合同。' });
  });
});

describe('BrowserNotifier', () => {
  it('shows each event once, across a restart of the background (dedupe kept in storage), and only after the first pull', async () => {
    let view = slice(ava, [request('r1')]);
    let synced = false;
    const shown: string[] = [];
    const make = () =>
      new BrowserNotifier({
        view: async () => view,
        signedIn: async () => true,
        synced: async () => synced,
        settings: async () => DEFAULT_NOTIFY_SETTINGS,
        show: async (id) => void shown.push(id),
      });
    const first = make();
    await first.check();
    expect(await seenItem.getValue()).toBeNull(); // the slice is not the server's yet
    synced = true;
    await first.check();
    expect(shown).toEqual([]); // the baseline
    view = slice(ava, [request('r1'), request('r2')]);
    await Promise.all([first.check(), first.check(), first.check()]);
    expect(shown).toEqual(['al:r2:submitted']);
    // A new service worker (same storage): nothing again.
    const second = make();
    await second.check();
    expect(shown).toEqual(['al:r2:submitted']);
    view = slice(ava, [request('r1'), request('r2', { status: 'denied', timeline: [entry('submitted', 0), entry('denied', 9, { text: 'No' })] })]);
    await second.check();
    expect(shown).toEqual(['al:r2:submitted', 'al:r2:denied']);
  });
});
