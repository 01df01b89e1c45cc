/**
 * Request-time policy: before a request is submitted, what may be requested, who will be asked
 * (concrete people per stage), whether a rule auto-approves it, what prerequisites are missing, what
 * SoD conflicts the grant would create, how many license seats are left, and the duration after caps.
 *
 * Invariants: the requester is never an approver of their own request; a stage that resolves to
 * nobody eligible escalates to the rule's fallback and never silently passes; an auto-approval
 * always has a maximum duration.
 */
import { parsePermissionKey } from '../permissions.ts';
import { policyProblem, type PolicyProblem, type PolicyProblemCode } from '../policy-problems.ts';
import type { PersonRef, Risk } from '../schemas.ts';
import type { OrgEngine } from './org.ts';
import { DAY_MS } from './org.ts';
import {
  matchesFunction,
  RISK_RANK,
  type ApproverSpec,
  type CatalogMeta,
  type OrgAccount,
  type OrgPerson,
  type RequestRule,
  type SodRule,
  type StageMode,
} from './types.ts';

export interface KeyVerdict {
  key: string;
  requestable: boolean;
  /** Why not, when not requestable (English); `problem` is the same as a code with params. */
  reason: string | null;
  problem: PolicyProblem | null;
  ruleId: string | null;
  risk: Risk | null;
  alreadyHeld: boolean;
}

export interface ResolvedStage {
  /** Position in the approval order (0 first). */
  index: number;
  kind: ApproverSpec['kind'];
  label: string;
  ruleIds: string[];
  /** The requested keys this stage approves (owner stages split per owner). */
  keys: string[];
  mode: StageMode;
  /** Approvals needed to pass the stage. */
  required: number;
  approvers: PersonRef[];
  /** True when the stage's own approvers were not enough and the rule's fallback was used. */
  escalated: boolean;
  escalationReason: string | null;
  /** True when the requester was among the stage's approvers and was left out. */
  requesterExcluded: boolean;
  /** Who the stage escalates to when it waits too long: its rules' fallback, eligible people only. */
  fallback: PersonRef[];
  /** False when every rule of the stage lets one person approve it after an earlier stage. */
  distinctApprovers: boolean;
}

export interface MissingPrerequisite {
  kind: 'training' | 'tenure';
  /** Keys that need it. */
  keys: string[];
  training?: string;
  requiredDays?: number;
  actualDays?: number | null;
  message: string;
}

export interface SodPrediction {
  ruleId: string;
  name: string;
  severity: Risk;
  left: string[];
  right: string[];
}

export interface LicenseSeats {
  licenseId: string;
  name: string;
  seats: number;
  used: number;
  left: number;
  /** False when the account already consumes a seat of this license. */
  needsSeat: boolean;
  keys: string[];
}

export interface RequestEvaluation {
  /** True when the request can be submitted as is. */
  ok: boolean;
  keys: KeyVerdict[];
  autoApproved: boolean;
  autoApprovalRuleIds: string[];
  stages: ResolvedStage[];
  /** Everyone the request will ask, once, with the stages they are in. */
  willNotify: { person: PersonRef; stages: number[]; roles: string[] }[];
  missingPrerequisites: MissingPrerequisite[];
  sodConflicts: SodPrediction[];
  licenses: LicenseSeats[];
  /** `max`: the longest grant the rules, catalog and any auto-approval allow (null = no cap). */
  duration: { requested: number; granted: number; cappedBy: string[]; max: number | null };
  justificationRequired: boolean;
  evidenceRequired: boolean;
  /** Everything that blocks submission, as codes with params (and the English sentence). */
  problems: PolicyProblem[];
  /** Worth showing, not blocking (e.g. SoD conflicts when policy warns). */
  warnings: PolicyProblem[];
}

export interface RequestOptions {
  justification?: string;
  evidence?: string[];
  /** People who may not approve this request besides the requester (the manager who filed it for them). */
  excludeApprovers?: readonly string[];
  /** Keys already held may be asked for (an extension of the grant that holds them). */
  allowHeld?: boolean;
}

/** `*` matches one segment of a key (no ':'), anything else matches itself. */
export function keyPatternMatches(pattern: string, key: string): boolean {
  if (!pattern.includes('*')) return pattern === key;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^:]*')}$`,
  );
  return re.test(key);
}

export function ruleMatches(rule: RequestRule, key: string, risk: Risk | null): boolean {
  if (rule.match.keys && !rule.match.keys.some((p) => keyPatternMatches(p, key))) return false;
  if (rule.match.risks && (risk === null || !rule.match.risks.includes(risk))) return false;
  return true;
}

const refOf = (p: OrgPerson): PersonRef => ({ id: p.id, name: p.name, email: p.email, title: p.title });

const requiredFor = (mode: StageMode, eligible: number): number => (mode.type === 'any' ? 1 : mode.type === 'all' ? eligible : mode.n);

/**
 * Evaluates a request of `keys` by `person` for `account` lasting `durationDays` (null = the rule's
 * default), at `now`, against the org held by `engine` (directory, catalog, policy, access).
 */
export function evaluateRequest(
  engine: OrgEngine,
  personIn: OrgPerson | string,
  accountIn: OrgAccount | string,
  keysIn: readonly string[],
  durationDays: number | null,
  now: Date,
  options: RequestOptions = {},
): RequestEvaluation {
  const problems: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  const excluded = new Set(options.excludeApprovers ?? []);
  const person = typeof personIn === 'string' ? engine.person(personIn) : personIn;
  const account = typeof accountIn === 'string' ? engine.account(accountIn) : accountIn;
  const org = engine.data;
  const policy = org.policy;
  const keys = [...new Set(keysIn)];

  const empty = (code: PolicyProblemCode, params: Record<string, string> = {}): RequestEvaluation => {
    const problem = policyProblem(code, params);
    return {
      ok: false,
      keys: keys.map((key) => ({ key, requestable: false, reason: problem.message, problem, ruleId: null, risk: null, alreadyHeld: false })),
      autoApproved: false,
      autoApprovalRuleIds: [],
      stages: [],
      willNotify: [],
      missingPrerequisites: [],
      sodConflicts: [],
      licenses: [],
      duration: { requested: durationDays ?? 0, granted: 0, cappedBy: [], max: null },
      justificationRequired: false,
      evidenceRequired: false,
      problems: [problem],
      warnings: [],
    };
  };
  if (!person) return empty('requester-unknown');
  if (!account) return empty('account-unknown');
  if (account.personId !== person.id) return empty('account-not-own');
  if (person.status !== 'active') return empty('requester-inactive', { status: person.status });
  if (!account.active) return empty('account-inactive');
  if (keys.length === 0) return empty('no-permissions');

  const connectionId = account.connectionId;
  const rules = policy.requestRules.filter((r) => r.connectionId === connectionId);

  // ---- per key: validity, rule, requestable ----
  const verdicts: KeyVerdict[] = [];
  const ruleOf = new Map<string, RequestRule>();
  const entryOf = new Map<string, CatalogMeta>();
  for (const key of keys) {
    const parsed = parsePermissionKey(key);
    if (!parsed.ok) {
      const problem = policyProblem('invalid-key', { key, detail: parsed.error });
      verdicts.push({ key, requestable: false, reason: parsed.error, problem, ruleId: null, risk: null, alreadyHeld: false });
      continue;
    }
    const entry = engine.catalogEntry(connectionId, key);
    if (entry) entryOf.set(key, entry);
    const risk = entry?.risk ?? null;
    const held = engine.can(account.id, key);
    const rule = rules.find((r) => ruleMatches(r, key, risk));
    let problem: PolicyProblem | null = null;
    if (held && !options.allowHeld) problem = policyProblem('already-held', { key });
    else if (!rule) problem = policyProblem('no-rule', { key });
    else if (!rule.requestable) problem = policyProblem('rule-forbids', { key, rule: rule.name });
    else if (entry && !entry.requestable) problem = policyProblem('catalog-not-requestable', { key });
    if (rule) ruleOf.set(key, rule);
    // The per-key reason as before: the sentence without the key.
    const reason = problem === null ? null : problem.message.slice(`${key}: `.length);
    verdicts.push({ key, requestable: problem === null, reason, problem, ruleId: rule?.id ?? null, risk, alreadyHeld: held });
  }
  for (const v of verdicts) if (v.problem) problems.push(v.problem);
  const wanted = verdicts.filter((v) => v.requestable).map((v) => v.key);
  const usedRules = [...new Set(wanted.map((k) => ruleOf.get(k)!))];

  // ---- prerequisites ----
  const missing: MissingPrerequisite[] = [];
  const trainingNeed = new Map<string, string[]>();
  for (const key of wanted) {
    const needs = [...(entryOf.get(key)?.requiredTrainings ?? []), ...(ruleOf.get(key)!.prerequisites.trainings ?? [])];
    for (const t of needs) if (!person.completedTrainings.includes(t)) trainingNeed.set(t, [...new Set([...(trainingNeed.get(t) ?? []), key])]);
  }
  for (const [training, ks] of trainingNeed) missing.push({ kind: 'training', training, keys: ks, message: `training "${training}" not completed` });
  const tenureDays = person.hireDate === null ? null : Math.floor((now.getTime() - Date.parse(person.hireDate)) / DAY_MS);
  let tenureNeed = 0;
  const tenureKeys: string[] = [];
  for (const key of wanted) {
    const min = ruleOf.get(key)!.prerequisites.minTenureDays ?? 0;
    if (min > 0 && (tenureDays === null || tenureDays < min)) {
      tenureNeed = Math.max(tenureNeed, min);
      tenureKeys.push(key);
    }
  }
  if (tenureKeys.length > 0)
    missing.push({
      kind: 'tenure',
      keys: tenureKeys,
      requiredDays: tenureNeed,
      actualDays: tenureDays,
      message: tenureDays === null ? `tenure unknown (needs ${tenureNeed} days)` : `tenure ${tenureDays} days, needs ${tenureNeed}`,
    });
  for (const m of missing)
    problems.push(
      m.kind === 'training'
        ? policyProblem('training-missing', { training: m.training!, keys: m.keys })
        : policyProblem('tenure-short', { requiredDays: m.requiredDays!, actualDays: m.actualDays ?? null, keys: m.keys }),
    );

  // ---- separation of duties (conflicts the grant would create) ----
  const existing = new Set(engine.sodConflicts(account.id).map((c) => c.rule.id));
  const sod: SodPrediction[] = engine
    .sodConflicts(account.id, wanted)
    .filter((c) => !existing.has(c.rule.id))
    .map((c: { rule: SodRule; left: string[]; right: string[] }) => ({
      ruleId: c.rule.id,
      name: c.rule.name,
      severity: c.rule.severity,
      left: c.left,
      right: c.right,
    }));
  for (const c of sod) {
    const p = policyProblem('sod-conflict', { ruleId: c.ruleId, name: c.name, severity: c.severity });
    if (policy.sodAtRequest === 'block') problems.push(p);
    else warnings.push(p);
  }

  // ---- licenses ----
  const licenses: LicenseSeats[] = [];
  const licenseKeys = new Map<string, string[]>();
  for (const key of wanted) {
    const l = entryOf.get(key)?.license;
    if (l) licenseKeys.set(l, [...(licenseKeys.get(l) ?? []), key]);
  }
  for (const [licenseId, ks] of licenseKeys) {
    const lic = org.licenses.find((l) => l.id === licenseId && l.connectionId === connectionId);
    const seats = lic?.seats ?? 0;
    const { used, holders } = engine.licenseSeatsUsed(connectionId, licenseId);
    const needsSeat = !holders.has(account.id);
    const left = seats - used;
    licenses.push({ licenseId, name: lic?.name ?? licenseId, seats, used, left, needsSeat, keys: ks });
    if (needsSeat && left <= 0) problems.push(policyProblem('no-license-seats', { licenseId, license: lic?.name ?? licenseId }));
  }

  // ---- auto-approval ----
  const autoRules = usedRules.filter((r) => r.autoApprove !== null);
  const autoApproved =
    wanted.length > 0 &&
    autoRules.length === usedRules.length &&
    wanted.every((k) => {
      const auto = ruleOf.get(k)!.autoApprove!;
      const risk = entryOf.get(k)?.risk ?? 'low';
      return RISK_RANK[risk] <= RISK_RANK[auto.maxRisk] && (!auto.requesters || auto.requesters.some((m) => matchesFunction(m, person)));
    }) &&
    sod.length === 0 &&
    missing.length === 0 &&
    !licenses.some((l) => l.needsSeat && l.left <= 0);

  // ---- duration ----
  const cappedBy: string[] = [];
  const requested = durationDays ?? (usedRules.length > 0 ? Math.min(...usedRules.map((r) => r.defaultDurationDays)) : 0);
  let granted = requested;
  let max: number | null = null;
  const cap = (limit: number | null | undefined, why: string) => {
    if (limit == null) return;
    max = max === null ? limit : Math.min(max, limit);
    if (limit < granted) {
      granted = limit;
      cappedBy.push(why);
    }
  };
  for (const r of usedRules) cap(r.maxDurationDays, `rule:${r.id}`);
  for (const k of wanted) cap(entryOf.get(k)?.maxDurationDays, `catalog:${k}`);
  if (autoApproved) for (const r of usedRules) cap(r.autoApprove!.maxDurationDays, `auto-approval:${r.id}`);
  granted = Math.max(wanted.length > 0 ? 1 : 0, Math.floor(granted));

  // ---- stages ----
  const stages: ResolvedStage[] = [];
  if (!autoApproved && wanted.length > 0) {
    const people = (ids: Iterable<string>) => [...new Set(ids)];
    const groupMembers = (groupId: string) => org.groups.find((g) => g.id === groupId)?.memberIds ?? [];
    const ownerIds = (key: string): string[] => {
      const o = entryOf.get(key)?.owner;
      if (!o) return [];
      return o.type === 'person' ? [o.personId] : groupMembers(o.groupId);
    };
    const candidatesOf = (spec: ApproverSpec, ks: string[]): string[] => {
      switch (spec.kind) {
        case 'manager':
          return person.managerId ? [person.managerId] : [];
        case 'owner':
          return people(ks.flatMap(ownerIds));
        case 'group':
          return groupMembers(spec.groupId);
        case 'person':
          return [spec.personId];
      }
    };
    const eligible = (ids: string[]) => {
      const ok: OrgPerson[] = [];
      for (const id of ids) {
        if (id === person.id || excluded.has(id)) continue;
        const p = engine.person(id);
        if (p && p.status === 'active') ok.push(p);
      }
      return ok;
    };
    const labelOf = (spec: ApproverSpec): string =>
      spec.kind === 'manager'
        ? 'manager'
        : spec.kind === 'owner'
          ? 'permission owner'
          : spec.kind === 'group'
            ? (org.groups.find((g) => g.id === spec.groupId)?.name ?? spec.groupId)
            : 'named approver';

    type Draft = Omit<ResolvedStage, 'index'>;
    const drafts: Draft[] = [];
    for (const rule of usedRules) {
      const ruleKeys = wanted.filter((k) => ruleOf.get(k) === rule);
      if (rule.stages.length === 0) {
        // A rule that neither auto-approves nor names a stage must not pass silently: ask the fallback.
        const fallback = eligible(people(rule.fallback.flatMap((f) => candidatesOf(f, ruleKeys))));
        const reason = `rule "${rule.name}" names no approval stage`;
        if (fallback.length === 0) problems.push(policyProblem('no-approver', { stage: 'fallback approver', rule: rule.name }));
        drafts.push({
          kind: 'person',
          label: 'fallback approver',
          ruleIds: [rule.id],
          keys: ruleKeys,
          mode: { type: 'any' },
          required: 1,
          approvers: fallback.map(refOf),
          escalated: true,
          escalationReason: reason,
          requesterExcluded: false,
          fallback: fallback.map(refOf),
          distinctApprovers: rule.distinctApprovers ?? true,
        });
      }
      for (const spec of rule.stages) {
        // Owner stages split per owner: each owner approves the keys they own.
        const parts: string[][] = spec.kind === 'owner' ? [...groupBy(ruleKeys, (k) => JSON.stringify(entryOf.get(k)?.owner ?? null)).values()] : [ruleKeys];
        for (const ks of parts) {
          const candidates = candidatesOf(spec, ks);
          const requesterExcluded = candidates.includes(person.id) || candidates.some((c) => excluded.has(c));
          const fallbackPeople = eligible(people(rule.fallback.flatMap((f) => candidatesOf(f, ks))));
          const distinct = rule.distinctApprovers ?? true;
          // One person may not satisfy two stages: approvers certain to have approved an earlier stage of
          // this rule (a stage every approver of which must approve) are not asked again.
          const certain = new Set(
            distinct ? drafts.filter((d) => d.ruleIds.includes(rule.id) && d.required === d.approvers.length).flatMap((d) => d.approvers.map((a) => a.id)) : [],
          );
          let approvers = eligible(candidates).filter((p) => !certain.has(p.id));
          let mode: StageMode = spec.mode;
          let required = requiredFor(mode, approvers.length);
          let escalated = false;
          let escalationReason: string | null = null;
          if (approvers.length === 0 || approvers.length < required) {
            escalationReason =
              approvers.length === 0
                ? `${labelOf(spec)} resolves to nobody eligible`
                : `${labelOf(spec)} has ${approvers.length} eligible approver(s), ${required} required`;
            const fallback = fallbackPeople.filter((p) => !certain.has(p.id));
            escalated = true;
            approvers = fallback;
            mode = { type: 'any' };
            required = 1;
            if (fallback.length === 0) problems.push(policyProblem('no-approver', { stage: labelOf(spec), rule: rule.name }));
          }
          drafts.push({
            kind: spec.kind,
            label: spec.label ?? labelOf(spec),
            ruleIds: [rule.id],
            keys: ks,
            mode,
            required,
            approvers: approvers.map(refOf),
            escalated,
            escalationReason,
            requesterExcluded,
            fallback: fallbackPeople.map(refOf),
            distinctApprovers: distinct,
          });
        }
      }
    }
    // Identical stages from several rules are asked once.
    for (const d of drafts) {
      const same = stages.find(
        (s) =>
          s.kind === d.kind &&
          s.required === d.required &&
          JSON.stringify(s.mode) === JSON.stringify(d.mode) &&
          s.approvers.map((a) => a.id).join() === d.approvers.map((a) => a.id).join(),
      );
      if (same) {
        same.keys = [...new Set([...same.keys, ...d.keys])];
        same.ruleIds = [...new Set([...same.ruleIds, ...d.ruleIds])];
        same.distinctApprovers = same.distinctApprovers || d.distinctApprovers;
        for (const f of d.fallback) if (!same.fallback.some((x) => x.id === f.id)) same.fallback.push(f);
      } else stages.push({ ...d, index: stages.length });
    }
  }

  const notify = new Map<string, { person: PersonRef; stages: number[]; roles: string[] }>();
  for (const s of stages)
    for (const a of s.approvers) {
      const n = notify.get(a.id) ?? { person: a, stages: [], roles: [] };
      n.stages.push(s.index);
      if (!n.roles.includes(s.label)) n.roles.push(s.label);
      notify.set(a.id, n);
    }

  const justificationRequired = usedRules.some((r) => r.justificationRequired);
  const evidenceRequired = usedRules.some((r) => r.evidenceRequired);
  if (options.justification !== undefined && justificationRequired && options.justification.trim() === '')
    problems.push(policyProblem('justification-required'));
  if (options.evidence !== undefined && evidenceRequired && options.evidence.length === 0) problems.push(policyProblem('evidence-required'));
  if (durationDays !== null && durationDays <= 0) problems.push(policyProblem('duration-invalid'));

  return {
    ok: problems.length === 0,
    keys: verdicts,
    autoApproved,
    autoApprovalRuleIds: autoApproved ? usedRules.map((r) => r.id) : [],
    stages,
    willNotify: [...notify.values()],
    missingPrerequisites: missing,
    sodConflicts: sod,
    licenses,
    duration: { requested, granted, cappedBy, max },
    justificationRequired,
    evidenceRequired,
    problems,
    warnings,
  };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const list = out.get(k);
    if (list) list.push(i);
    else out.set(k, [i]);
  }
  return out;
}
