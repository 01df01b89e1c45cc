import type { Assignment, Bundle } from './schemas.ts';
import { directImplications } from './engine/implications.ts';

/** One step on a path that grants a permission: a bundle, outermost (assigned) first. */
export interface BundleStep {
  bundleId: string;
  name: string;
  kind: Bundle['kind'];
}

/** One way an account holds a key. */
export interface GrantPath {
  /** The assignment the path starts from. */
  assignmentId: string;
  source: Assignment['source'];
  requestId: string | null;
  expiresAt: string | null;
  /** Bundles from the assigned one down to the one that lists the key; empty for a direct grant. */
  bundles: BundleStep[];
  /** Set when the key is held because another key implies it (e.g. edit implies read). */
  impliedBy: string | null;
}

export type Explanation =
  | { key: string; allowed: true; paths: GrantPath[] }
  | {
      key: string;
      allowed: false;
      /** Bundles that would grant the key if assigned: the basis for "request this". */
      grantableBy: BundleStep[];
    };

export class BundleCycleError extends Error {
  constructor(readonly cycle: string[]) {
    super(`bundle inheritance has a cycle: ${cycle.join(' → ')}`);
    this.name = 'BundleCycleError';
  }
}

/** An assignment counts from grantedAt (inclusive) until expiresAt (exclusive), unless revoked. */
export function isAssignmentActive(a: Assignment, now: Date): boolean {
  const t = now.getTime();
  if (a.revokedAt !== null && Date.parse(a.revokedAt) <= t) return false;
  if (Date.parse(a.grantedAt) > t) return false;
  if (a.expiresAt !== null && Date.parse(a.expiresAt) <= t) return false;
  return true;
}

/**
 * Bundles indexed for repeated evaluation. Throws BundleCycleError naming the cycle when inheritance
 * loops, so a bad import fails loudly instead of granting nothing (or everything).
 */
export class BundleIndex {
  private readonly byId = new Map<string, Bundle>();
  /** For each bundle, every key it grants with the chain of bundles below it (memoised). */
  private readonly closure = new Map<string, Map<string, BundleStep[]>>();

  constructor(bundles: Iterable<Bundle>) {
    for (const b of bundles) this.byId.set(b.id, b);
    for (const b of this.byId.values()) this.keysOf(b.id, []);
  }

  get(id: string): Bundle | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<Bundle> {
    return this.byId.values();
  }

  /** Keys granted by a bundle (including inherited ones), each with the first path found. */
  keysOf(bundleId: string, stack: string[] = []): Map<string, BundleStep[]> {
    const done = this.closure.get(bundleId);
    if (done) return done;
    if (stack.includes(bundleId)) {
      const from = stack.indexOf(bundleId);
      throw new BundleCycleError([...stack.slice(from), bundleId].map((id) => this.byId.get(id)?.name ?? id));
    }
    const b = this.byId.get(bundleId);
    const result = new Map<string, BundleStep[]>();
    if (b) {
      const step: BundleStep = { bundleId: b.id, name: b.name, kind: b.kind };
      for (const key of b.permissions) result.set(key, [step]);
      for (const inc of b.includes) {
        for (const [key, path] of this.keysOf(inc, [...stack, bundleId])) {
          if (!result.has(key)) result.set(key, [step, ...path]);
        }
      }
    }
    this.closure.set(bundleId, result);
    return result;
  }

  /** Bundles (of a connection, if given) whose closure holds the key, smallest first. */
  bundlesGranting(key: string, connectionId?: string): BundleStep[] {
    const out: { step: BundleStep; size: number }[] = [];
    for (const b of this.byId.values()) {
      if (connectionId !== undefined && b.connectionId !== connectionId) continue;
      const keys = this.keysOf(b.id);
      if (keys.has(key) || [...keys.keys()].some((held) => impliedClosure(held).has(key)))
        out.push({ step: { bundleId: b.id, name: b.name, kind: b.kind }, size: keys.size });
    }
    return out.sort((x, y) => x.size - y.size || x.step.name.localeCompare(y.step.name)).map((x) => x.step);
  }
}

const implicationCache = new Map<string, Map<string, string>>();

/** Every key implied by `key` (excluding itself), each mapped to the key that directly implies it. */
function impliedClosure(key: string): Map<string, string> {
  let done = implicationCache.get(key);
  if (done) return done;
  done = new Map();
  const queue = [key];
  while (queue.length > 0) {
    const k = queue.shift()!;
    for (const next of directImplications(k)) {
      if (next !== key && !done.has(next)) {
        done.set(next, k);
        queue.push(next);
      }
    }
  }
  implicationCache.set(key, done);
  return done;
}

/**
 * Effective permissions of one account: every key it holds now, with every path that grants it.
 * Expired and revoked assignments do not count.
 */
export function effectivePermissions(
  assignments: Iterable<Assignment>,
  bundles: BundleIndex,
  now: Date,
): Map<string, GrantPath[]> {
  const held = new Map<string, GrantPath[]>();
  const add = (key: string, path: GrantPath) => {
    const list = held.get(key);
    if (list) list.push(path);
    else held.set(key, [path]);
  };
  for (const a of assignments) {
    if (!isAssignmentActive(a, now)) continue;
    const base = { assignmentId: a.id, source: a.source, requestId: a.requestId, expiresAt: a.expiresAt };
    if (a.target.type === 'permission') {
      add(a.target.key, { ...base, bundles: [], impliedBy: null });
    } else {
      for (const [key, chain] of bundles.keysOf(a.target.bundleId)) add(key, { ...base, bundles: chain, impliedBy: null });
    }
  }
  // Implications: a key held through any path implies its consequences through the same path.
  for (const [key, paths] of [...held]) {
    for (const [implied, via] of impliedClosure(key)) {
      for (const p of paths) if (p.impliedBy === null) add(implied, { ...p, impliedBy: via === key ? key : via });
    }
  }
  return held;
}

/** Why an account may or may not use `key`. */
export function explain(
  key: string,
  effective: Map<string, GrantPath[]>,
  bundles: BundleIndex,
  connectionId?: string,
): Explanation {
  const paths = effective.get(key);
  if (paths && paths.length > 0) return { key, allowed: true, paths };
  return { key, allowed: false, grantableBy: bundles.bundlesGranting(key, connectionId) };
}
