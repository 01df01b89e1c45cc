/**
 * Reviewing a policy change (four eyes): what changed between two policy documents, and what the
 * change would give a given person — so nobody can quietly grant themselves more, e.g. through an
 * auto-approval rule that covers their own job. Pure: the server decides with it, the console shows it.
 */
import { matchesFunction, RISK_RANK, type FunctionMatch } from './engine/types.ts';
import type { PolicyDocument } from './policy-schema.ts';

export type PolicyChangeKind = 'added' | 'removed' | 'changed';

export interface PolicyChange {
  /** The document's part: `requestRules`, `baselines`, `sodRules`, `adminFunctions`, `thresholds`… */
  section: string;
  /** The item's id, for lists of items with ids; null for a whole part. */
  id: string | null;
  change: PolicyChangeKind;
  /** The item's fields that differ (changed items with ids). */
  fields: string[];
  before: unknown;
  after: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const hasIds = (v: unknown): v is { id: string }[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string');

/**
 * Every difference, part by part, in the document's order: items of lists with ids (rules,
 * baselines) one by one, any other part whole. Parts unknown to this file are compared too.
 */
export function diffPolicy(before: PolicyDocument, after: PolicyDocument): PolicyChange[] {
  const out: PolicyChange[] = [];
  const b = before as unknown as Record<string, unknown>;
  const a = after as unknown as Record<string, unknown>;
  const sections = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  for (const section of sections) {
    const x = b[section];
    const y = a[section];
    if (same(x, y)) continue;
    if ((x === undefined || hasIds(x)) && (y === undefined || hasIds(y)) && (hasIds(x) || hasIds(y))) {
      const xs = new Map((x ?? []).map((i) => [i.id, i] as const));
      const ys = new Map((y ?? []).map((i) => [i.id, i] as const));
      for (const item of y ?? []) {
        const old = xs.get(item.id);
        if (!old) out.push({ section, id: item.id, change: 'added', fields: [], before: null, after: item });
        else if (!same(old, item)) {
          const o = old as unknown as Record<string, unknown>;
          const n = item as unknown as Record<string, unknown>;
          const fields = [...new Set([...Object.keys(o), ...Object.keys(n)])].filter((k) => !same(o[k], n[k]));
          out.push({ section, id: item.id, change: 'changed', fields, before: old, after: item });
        }
      }
      for (const item of x ?? []) if (!ys.has(item.id)) out.push({ section, id: item.id, change: 'removed', fields: [], before: item, after: null });
      // Same items in another order: the order of request rules decides which rule applies.
      if (out.every((c) => c.section !== section)) out.push({ section, id: null, change: 'changed', fields: ['order'], before: x, after: y });
      continue;
    }
    out.push({
      section,
      id: null,
      change: x === undefined ? 'added' : y === undefined ? 'removed' : 'changed',
      fields: [],
      before: x ?? null,
      after: y ?? null,
    });
  }
  return out;
}

/** The kinds of `PolicyGain`, listed once (clients say each in their language). */
export const POLICY_GAIN_KINDS = ['auto-approval', 'baseline', 'admin-function'] as const;

/**
 * What a change would give one person through their job function (department and title). Only rules
 * that name a job count: a rule for everyone is nobody's own gain (and the diff shows it to the approver).
 */
export type PolicyGain =
  /** A request rule would approve this person's requests automatically (newly, or for more risk or longer). */
  | { kind: 'auto-approval'; ruleId: string; connectionId: string }
  /** The baseline of this person's job would cover more: what they hold beyond it stops being a finding. */
  | { kind: 'baseline'; baselineId: string; connectionId: string; added: string[] }
  /** This person's job would become an admin function: high-risk permissions stop being findings for them. */
  | { kind: 'admin-function' };

// Every kind listed, and no other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const gainKindsListed: Same<PolicyGain['kind'], (typeof POLICY_GAIN_KINDS)[number]> = true;
void gainKindsListed;

type Job = { department: string; title: string };
type Rule = PolicyDocument['requestRules'][number];

/** A job function named (a department, a title or both) that is this job's. */
const names = (m: FunctionMatch, job: Job) => (m.department !== undefined || m.title !== undefined) && matchesFunction(m, job);
const covers = (requesters: FunctionMatch[] | undefined, job: Job) => requesters !== undefined && requesters.some((m) => names(m, job));

/** Whether `before` already auto-approved as much for this job as `rule` does after the change. */
function autoApprovedBefore(before: PolicyDocument, rule: Rule, job: Job): boolean {
  const auto = rule.autoApprove!;
  return before.requestRules.some(
    (r) =>
      r.id === rule.id &&
      r.connectionId === rule.connectionId &&
      same(r.match, rule.match) &&
      r.autoApprove !== null &&
      covers(r.autoApprove.requesters, job) &&
      RISK_RANK[r.autoApprove.maxRisk] >= RISK_RANK[auto.maxRisk] &&
      r.autoApprove.maxDurationDays >= auto.maxDurationDays,
  );
}

/** What the job's baselines in one connection cover (bundles and keys). */
function baselineCover(doc: PolicyDocument, connectionId: string, job: Job): Set<string> {
  const out = new Set<string>();
  for (const b of doc.baselines)
    if (b.connectionId === connectionId && matchesFunction(b.match, job)) {
      for (const id of b.bundleIds) out.add(`bundle:${id}`);
      for (const k of b.keys) out.add(k);
    }
  return out;
}

/** What `after` would give a person with this job that `before` does not. Empty: the change gives them nothing. */
export function policyGains(before: PolicyDocument, after: PolicyDocument, job: Job): PolicyGain[] {
  const gains: PolicyGain[] = [];
  for (const rule of after.requestRules)
    if (rule.requestable && rule.autoApprove && covers(rule.autoApprove.requesters, job) && !autoApprovedBefore(before, rule, job))
      gains.push({ kind: 'auto-approval', ruleId: rule.id, connectionId: rule.connectionId });
  const connections = new Set(after.baselines.filter((b) => names(b.match, job)).map((b) => b.connectionId));
  for (const connectionId of connections) {
    const had = baselineCover(before, connectionId, job);
    for (const b of after.baselines) {
      if (b.connectionId !== connectionId || !names(b.match, job)) continue;
      const added = [...b.bundleIds.map((id) => `bundle:${id}`), ...b.keys].filter((x) => !had.has(x));
      if (added.length > 0) gains.push({ kind: 'baseline', baselineId: b.id, connectionId, added });
    }
  }
  const adminBefore = before.adminFunctions.some((m) => matchesFunction(m, job));
  const adminAfter = after.adminFunctions.some((m) => names(m, job));
  if (adminAfter && !adminBefore) gains.push({ kind: 'admin-function' });
  return gains;
}
