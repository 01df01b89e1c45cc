/**
 * Interned permission keys: each key of a connection's universe gets a small integer id, and every
 * id its implication closure (sorted ids, itself included) and its prerequisites. The universe is
 * closed under implication and prerequisites: interning `object:X:modifyAll` also interns what it
 * implies, interning `object:X:assign` (Dynamics) the keys it needs.
 */
import { parsePermissionKey, type PermissionKey } from '../permissions.ts';
import { impliedByParsed, objectOf, prerequisitesOfParsed, type ImplicationTable } from './implications.ts';

export class InvalidPermissionKeyError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`invalid permission key: ${reason}`);
    this.name = 'InvalidPermissionKeyError';
  }
}

/** Parses a key or throws InvalidPermissionKeyError with the grammar's message. */
export function parseKeyOrThrow(key: string): PermissionKey {
  const parsed = parsePermissionKey(key);
  if (!parsed.ok) throw new InvalidPermissionKeyError(key, parsed.error);
  return parsed.value;
}

const EMPTY = new Int32Array(0);

export class KeyUniverse {
  private readonly ids = new Map<string, number>();
  private readonly keyList: string[] = [];
  private readonly parsedList: PermissionKey[] = [];
  /** Objects named by any key of the universe: what org-wide implications range over. */
  readonly objects = new Set<string>();
  private direct: Int32Array[] = [];
  private requires: Int32Array[] = [];
  private gatedIds = new Int32Array(0);
  private closures: Int32Array[] = [];
  private reverse: Int32Array[] | null = null;
  private closedSize = -1;

  constructor(
    readonly table: ImplicationTable,
    keys: Iterable<string> = [],
  ) {
    for (const k of keys) this.intern(k);
    this.close();
  }

  get size(): number {
    return this.keyList.length;
  }

  /** Id of a key, or -1 when it is not in the universe. */
  id(key: string): number {
    return this.ids.get(key) ?? -1;
  }

  key(id: number): string {
    const k = this.keyList[id];
    if (k === undefined) throw new RangeError(`no permission key with id ${id}`);
    return k;
  }

  parsed(id: number): PermissionKey {
    return this.parsedList[id]!;
  }

  keys(): readonly string[] {
    return this.keyList;
  }

  /** Adds a key (validated; throws InvalidPermissionKeyError). Call close() before reading closures. */
  intern(key: string): number {
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const p = parseKeyOrThrow(key);
    const id = this.keyList.length;
    this.ids.set(key, id);
    this.keyList.push(key);
    this.parsedList.push(p);
    const o = objectOf(p);
    if (o !== null) this.objects.add(o);
    return id;
  }

  /** True when keys were interned since the last close(). */
  get dirty(): boolean {
    return this.closedSize !== this.keyList.length;
  }

  /**
   * Interns everything the universe implies and recomputes every closure. Returns true when the
   * universe grew (so callers holding bitsets sized for it must rebuild).
   */
  close(): boolean {
    const before = this.closedSize;
    if (!this.dirty) return false;
    // Implied keys never name a new object, so one pass over the growing list reaches the fixpoint.
    const direct: Int32Array[] = [];
    const requires: Int32Array[] = [];
    const gated: number[] = [];
    for (let i = 0; i < this.keyList.length; i++) {
      const p = this.parsedList[i]!;
      const implied = impliedByParsed(p, this.keyList[i]!, this.table, this.objects);
      const ids = new Int32Array(implied.length);
      for (let j = 0; j < implied.length; j++) ids[j] = this.intern(implied[j]!);
      direct.push(ids);
      const reqs = prerequisitesOfParsed(p, this.table);
      const rids = new Int32Array(reqs.length);
      for (let j = 0; j < reqs.length; j++) rids[j] = this.intern(reqs[j]!);
      requires.push(rids);
      if (rids.length > 0) gated.push(i);
    }
    this.direct = direct;
    this.requires = requires;
    this.gatedIds = Int32Array.from(gated);
    const n = this.keyList.length;
    const closures: Int32Array[] = new Array(n);
    const seen = new Int32Array(n).fill(-1);
    const queue: number[] = [];
    for (let i = 0; i < n; i++) {
      queue.length = 0;
      queue.push(i);
      seen[i] = i;
      for (let q = 0; q < queue.length; q++) {
        for (const next of direct[queue[q]!] ?? EMPTY) {
          if (seen[next] !== i) {
            seen[next] = i;
            queue.push(next);
          }
        }
      }
      closures[i] = Int32Array.from(queue).sort();
    }
    this.closures = closures;
    this.reverse = null;
    this.closedSize = n;
    return before !== -1 && before !== n;
  }

  /** Sorted ids of every key held by holding `id` (itself included). */
  closure(id: number): Int32Array {
    if (this.dirty) this.close();
    return this.closures[id] ?? EMPTY;
  }

  /** Ids of the keys `id` needs before it is allowed (one step; empty for most keys). */
  prerequisites(id: number): Int32Array {
    if (this.dirty) this.close();
    return this.requires[id] ?? EMPTY;
  }

  /** Ids of every key that has prerequisites. */
  gated(): Int32Array {
    if (this.dirty) this.close();
    return this.gatedIds;
  }

  /** Ids directly implied by `id` (one step). */
  directOf(id: number): Int32Array {
    if (this.dirty) this.close();
    return this.direct[id] ?? EMPTY;
  }

  /** Ids whose closure contains `id` (itself included). */
  impliers(id: number): Int32Array {
    if (this.dirty) this.close();
    if (!this.reverse) {
      const lists: number[][] = this.keyList.map(() => []);
      this.closures.forEach((c, from) => c.forEach((to) => lists[to]!.push(from)));
      this.reverse = lists.map((l) => Int32Array.from(l));
    }
    return this.reverse[id] ?? EMPTY;
  }

  /** Whether holding `from` grants `to` (binary search in the sorted closure). */
  implies(from: number, to: number): boolean {
    const c = this.closure(from);
    let lo = 0;
    let hi = c.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = c[mid]!;
      if (v === to) return true;
      if (v < to) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Shortest implication chain of keys from `from` to `to` (both included), or null. */
  chain(from: number, to: number): string[] | null {
    if (from === to) return [this.key(from)];
    if (!this.implies(from, to)) return null;
    const parent = new Map<number, number>([[from, -1]]);
    const queue = [from];
    for (let q = 0; q < queue.length; q++) {
      const k = queue[q]!;
      for (const next of this.directOf(k)) {
        if (parent.has(next)) continue;
        parent.set(next, k);
        if (next === to) {
          const out: string[] = [];
          for (let c = to; c !== -1; c = parent.get(c)!) out.push(this.key(c));
          return out.reverse();
        }
        queue.push(next);
      }
    }
    return null;
  }
}
