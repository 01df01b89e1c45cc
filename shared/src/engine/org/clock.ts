/**
 * The event clock: for each account, the next instant at which its rows or findings can change, in
 * a heap, so advancing the clock recomputes only the accounts with an event due.
 */
import type { Finding } from '../findings.ts';
import { DAY_MS, type ConnState, type OrgContext } from './context.ts';

/** Binary min-heap of (instant, account index) pairs, in typed arrays. */
export class EventHeap {
  private times = new Float64Array(64);
  private items = new Int32Array(64);
  private n = 0;

  get size(): number {
    return this.n;
  }

  clear(): void {
    this.n = 0;
  }

  peekTime(): number {
    return this.times[0]!;
  }

  push(t: number, item: number): void {
    if (this.n === this.times.length) {
      const times = new Float64Array(this.n * 2);
      times.set(this.times);
      this.times = times;
      const items = new Int32Array(this.n * 2);
      items.set(this.items);
      this.items = items;
    }
    const times = this.times;
    const items = this.items;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! <= t) break;
      times[i] = times[p]!;
      items[i] = items[p]!;
      i = p;
    }
    times[i] = t;
    items[i] = item;
  }

  /** Removes the earliest pair and returns its item. */
  pop(): number {
    const times = this.times;
    const items = this.items;
    const top = items[0]!;
    const n = --this.n;
    if (n > 0) {
      const t = times[n]!;
      const item = items[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && times[r]! < times[l]! ? r : l;
        if (times[c]! >= t) break;
        times[i] = times[c]!;
        items[i] = items[c]!;
        i = c;
      }
      times[i] = t;
      items[i] = item;
    }
    return top;
  }
}

/** Keeps `t` as the account's next event if it is in the future and earlier than the one held. */
export function schedule(ctx: OrgContext, cs: ConnState, a: number, t: number): void {
  if (!(t > ctx.nowMs) || !(t < cs.nextEvent[a]!)) return;
  cs.nextEvent[a] = t;
  cs.events.push(t, a);
}

/** An accepted finding reopens when its acceptance expires (`nowMs < until` turns false at `until`). */
export function scheduleAcceptance(ctx: OrgContext, cs: ConnState, a: number, f: Finding): void {
  if (f.status !== 'accepted') return;
  const acc = ctx.acceptances.get(f.id);
  if (acc) schedule(ctx, cs, a, acc.until);
}

/** Rebuilds the event heap from the accounts' current next events (drops stale pairs). */
export function rebuildEvents(cs: ConnState): void {
  cs.events.clear();
  const n = cs.index.accountCount;
  for (let a = 0; a < n; a++) {
    const t = cs.nextEvent[a]!;
    if (t !== Infinity) cs.events.push(t, a);
  }
}

/**
 * The earliest instant after the clock at which the dormant or unused findings of account `a` can
 * change, mirroring the rules of the finding kinds exactly (whole milliseconds; thresholds are whole
 * days), and the next start, end or revocation of any of its grants.
 */
export function nextEventOf(ctx: OrgContext, cs: ConnState, a: number): number {
  const now = ctx.nowMs;
  const ix = cs.index;
  let next = Infinity;
  // A grant starting, ending or being revoked (rows, expired-grant and every access-based finding;
  // `grantActive` and `accountsCrossing` change at exactly these instants).
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    const start = ix.grantStart(g);
    const end = ix.grantEnd(g);
    const revoked = ix.grantRevoked(g);
    if (start > now && start < next) next = start;
    if (end > now && end < next) next = end;
    if (revoked > now && revoked < next) next = revoked;
  }
  const acct = cs.accounts[a];
  if (!acct || !acct.active) return next;
  const person = ctx.people.get(acct.personId);
  if (!person || person.status !== 'active') return next;
  const th = ctx.thresholds;
  // Dormant when floor((now - since) / DAY) >= dormantDays, with the day count in the evidence:
  // the next change is when the count reaches max(count + 1, dormantDays).
  const login = cs.lastLoginMs[a]!;
  const since = Number.isNaN(login) ? cs.createdMs[a]! : login;
  if (Number.isFinite(since)) {
    const days = Math.floor((now - since) / DAY_MS);
    next = Math.min(next, since + Math.max(days + 1, Math.ceil(th.dormantDays)) * DAY_MS);
  }
  // Unused, with windowStart = now - unusedDays: the account is judged once createdMs <= windowStart
  // (from created + U), an assignment once start <= windowStart (from start + U), and a use counts
  // while last >= windowStart (until last + U, so it stops counting at last + U + 1 ms).
  const U = th.unusedDays * DAY_MS;
  const created = cs.createdMs[a]!;
  if (Number.isFinite(created) && created + U > now) next = Math.min(next, created + U);
  for (let g = ix.firstGrant(a); g >= 0; g = ix.nextGrant(g)) {
    const start = ix.grantStart(g);
    if (Number.isFinite(start) && start + U > now) next = Math.min(next, start + U);
  }
  const usage = cs.usage;
  for (let u = usage.first(a); u >= 0; u = usage.next(u)) {
    const last = usage.last(u);
    if (Number.isFinite(last) && last + U + 1 > now) next = Math.min(next, last + U + 1);
  }
  return next;
}
