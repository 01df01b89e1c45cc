/**
 * Usage aggregates per account (which key was last used when), in flat arrays: one slot per
 * (account, key), a list per account in arrival order (a newer aggregate for the same key replaces
 * the older one in place).
 */

function growI32(old: Int32Array, size: number, fill: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(size).fill(fill);
  next.set(old.subarray(0, Math.min(old.length, size)));
  return next;
}

export class UsageStore {
  private keyIds = new Int32Array(0);
  private lastMs = new Float64Array(0);
  /** The aggregate's lastUsedAt as given (evidence quotes it). */
  private lastIso: string[] = [];
  private nextSlot = new Int32Array(0);
  private head = new Int32Array(0);
  private tail = new Int32Array(0);
  private used = 0;

  ensureAccounts(n: number): void {
    if (n <= this.head.length) return;
    this.head = growI32(this.head, n, -1);
    this.tail = growI32(this.tail, n, -1);
  }

  /** Makes room for `n` aggregates in all (so loading them grows nothing). */
  reserve(n: number): void {
    if (n <= this.keyIds.length) return;
    this.keyIds = growI32(this.keyIds, n, -1);
    this.nextSlot = growI32(this.nextSlot, n, -1);
    const times = new Float64Array(n);
    times.set(this.lastMs);
    this.lastMs = times;
  }

  /** Records that `account` last used `keyId` at `last` (`iso` as given). */
  set(account: number, keyId: number, last: number, iso: string): void {
    for (let u = this.head[account]!; u >= 0; u = this.nextSlot[u]!)
      if (this.keyIds[u] === keyId) {
        this.lastMs[u] = last;
        this.lastIso[u] = iso;
        return;
      }
    if (this.used >= this.keyIds.length) {
      const cap = Math.max(64, Math.ceil(this.keyIds.length * 1.5));
      this.keyIds = growI32(this.keyIds, cap, -1);
      this.nextSlot = growI32(this.nextSlot, cap, -1);
      const times = new Float64Array(cap);
      times.set(this.lastMs);
      this.lastMs = times;
    }
    const u = this.used++;
    this.keyIds[u] = keyId;
    this.lastMs[u] = last;
    this.lastIso.push(iso);
    this.nextSlot[u] = -1;
    const t = this.tail[account]!;
    if (t < 0) this.head[account] = u;
    else this.nextSlot[t] = u;
    this.tail[account] = u;
  }

  /** First usage slot of the account (-1 when none); `next` walks its list. */
  first(account: number): number {
    return this.head[account] ?? -1;
  }

  next(u: number): number {
    return this.nextSlot[u]!;
  }

  keyId(u: number): number {
    return this.keyIds[u]!;
  }

  last(u: number): number {
    return this.lastMs[u]!;
  }

  iso(u: number): string {
    return this.lastIso[u]!;
  }
}
