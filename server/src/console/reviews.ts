/**
 * Access reviews. A campaign takes a snapshot of the assignments in its scope (one item each), names
 * each item's reviewers, and is scheduled in the database: reminders before the due date, and the due
 * date itself, when what nobody decided is kept, revoked or escalated as the campaign says (claimed by
 * one process: console/schedule.ts). A reviewer's decision is final; a revoke starts at once, through
 * the connectors' fulfilment (console/revoke.ts). Nobody reviews their own access.
 */
import { randomUUID } from 'node:crypto';
import {
  REVIEW_CSV_HEADER,
  RISK_RANK,
  type ApproverRef,
  type ReviewCampaignBody,
  type ReviewCampaignView,
  type ReviewCounts,
  type ReviewDecisionsBody,
  type ReviewItemView,
  type ReviewReportResponse,
  type Risk,
} from '@accesslens/shared';
import type { InValue, Row } from '@libsql/client';
import type { Db, Transaction } from '../db.ts';
import { ApiFailure, refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import { readBatch, type Source } from '../policy/load.ts';
import type { WriteContext } from '../write.ts';
import { csvRow } from './csv.ts';
import { notify } from './notices.ts';
import { revokeAssignments } from './revoke.ts';
import { cancelScheduled, schedule } from './schedule.ts';

const DAY_MS = 86_400_000;
const CHUNK = 200;

// ---------- building a campaign ----------

/** Every bundle of these connections → the keys it grants, through what it includes. */
async function bundleClosures(tx: Transaction, connectionIds: string[]): Promise<Map<string, Set<string>>> {
  const marks = connectionIds.map(() => '?').join(', ');
  const [perms, includes] = await tx.batch([
    {
      sql: `SELECT bp.bundle_id, bp.key FROM bundle_permissions bp JOIN bundles b ON b.id = bp.bundle_id WHERE b.connection_id IN (${marks})`,
      args: connectionIds,
    },
    {
      sql: `SELECT bi.bundle_id, bi.included_id FROM bundle_includes bi JOIN bundles b ON b.id = bi.bundle_id WHERE b.connection_id IN (${marks})`,
      args: connectionIds,
    },
  ]);
  const own = new Map<string, string[]>();
  for (const r of perms!.rows) own.set(String(r.bundle_id), [...(own.get(String(r.bundle_id)) ?? []), String(r.key)]);
  const inc = new Map<string, string[]>();
  for (const r of includes!.rows) inc.set(String(r.bundle_id), [...(inc.get(String(r.bundle_id)) ?? []), String(r.included_id)]);
  const memo = new Map<string, Set<string>>();
  const closure = (id: string, seen: Set<string>): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const out = new Set(own.get(id) ?? []);
    if (seen.has(id)) return out;
    seen.add(id);
    for (const i of inc.get(id) ?? []) for (const k of closure(i, seen)) out.add(k);
    memo.set(id, out);
    return out;
  };
  for (const id of new Set([...own.keys(), ...inc.keys()])) closure(id, new Set());
  return memo;
}

interface CatalogRow {
  risk: Risk;
  owner: ApproverRef | null;
}

async function catalogOf(tx: Transaction, connectionIds: string[]): Promise<Map<string, CatalogRow>> {
  const rows = await tx.execute({
    sql: `SELECT connection_id, key, risk, owner, owner_id FROM permission_catalog WHERE connection_id IN (${connectionIds.map(() => '?').join(', ')})`,
    args: connectionIds,
  });
  return new Map(
    rows.rows.map((r) => [
      `${String(r.connection_id)}\u0000${String(r.key)}`,
      {
        risk: String(r.risk) as Risk,
        owner: r.owner !== null ? (JSON.parse(String(r.owner)) as ApproverRef) : r.owner_id !== null ? { type: 'person', personId: String(r.owner_id) } : null,
      },
    ]),
  );
}

export async function createCampaign(w: WriteContext, actorId: string, body: ReviewCampaignBody): Promise<{ id: string; items: number }> {
  const now = w.now;
  const due = Date.parse(body.dueAt);
  if (due <= now.getTime()) throw ApiFailure.of(400, 'invalid_input', 'due_in_past', {}, { field: 'dueAt' });
  if (due > now.getTime() + 366 * DAY_MS) throw ApiFailure.of(400, 'invalid_input', 'due_too_late', {}, { field: 'dueAt' });
  const activePerson = async (personId: string, field: string) => {
    const r = await w.tx.execute({ sql: "SELECT id FROM people WHERE id = ? AND status = 'active'", args: [personId] });
    if (!r.rows[0]) throw ApiFailure.of(400, 'invalid_input', 'active_person_not_found', { personId }, { field });
  };
  if (body.reviewers.kind === 'person') await activePerson(body.reviewers.personId, 'reviewers.personId');
  if (body.fallbackReviewerId) await activePerson(body.fallbackReviewerId, 'fallbackReviewerId');
  if (body.escalateTo) await activePerson(body.escalateTo, 'escalateTo');
  if (body.scope.connectionId) {
    const c = await w.tx.execute({ sql: 'SELECT id FROM crm_connections WHERE id = ?', args: [body.scope.connectionId] });
    if (!c.rows[0])
      throw ApiFailure.of(400, 'invalid_input', 'connection_not_found', { connectionId: body.scope.connectionId }, { field: 'scope.connectionId' });
  }
  const fallback = body.fallbackReviewerId ?? actorId;
  const id = `rev-${randomUUID()}`;
  const nowIso = w.nowIso;

  // The assignments in scope, in force now, of active accounts.
  const where = ['a.revoked_at IS NULL', 'a.granted_at <= ?', '(a.expires_at IS NULL OR a.expires_at > ?)', 'ac.active = 1'];
  const args: InValue[] = [nowIso, nowIso];
  if (body.scope.connectionId) where.push('ac.connection_id = ?'), args.push(body.scope.connectionId);
  if (body.scope.department) where.push('p.department = ?'), args.push(body.scope.department);
  if (body.scope.grantedBeforeDays) where.push('a.granted_at <= ?'), args.push(new Date(now.getTime() - body.scope.grantedBeforeDays * DAY_MS).toISOString());
  const rows = await w.tx.execute({
    sql: `SELECT a.id, a.account_id, a.bundle_id, a.permission_key, a.granted_at, ac.connection_id, ac.person_id, p.manager_id,
            (SELECT m.status FROM people m WHERE m.id = p.manager_id) AS manager_status
          FROM assignments a JOIN crm_accounts ac ON ac.id = a.account_id JOIN people p ON p.id = ac.person_id
          WHERE ${where.map((c) => `(${c})`).join(' AND ')} ORDER BY p.name, a.id`,
    args,
  });
  const connections = [...new Set(rows.rows.map((r) => String(r.connection_id)))];
  const closures = connections.length ? await bundleClosures(w.tx, connections) : new Map<string, Set<string>>();
  const catalog = connections.length ? await catalogOf(w.tx, connections) : new Map<string, CatalogRow>();
  const groups = new Map(
    (await w.tx.execute('SELECT id, member_ids FROM approver_groups WHERE deleted_at IS NULL')).rows.map(
      (g) => [String(g.id), JSON.parse(String(g.member_ids)) as string[]] as const,
    ),
  );
  const active = new Set((await w.tx.execute("SELECT id FROM people WHERE status = 'active'")).rows.map((r) => String(r.id)));
  const minRank = body.scope.minRisk ? RISK_RANK[body.scope.minRisk] : -1;

  const items: { row: Row; keys: string[]; risk: Risk; reviewers: string[] }[] = [];
  for (const r of rows.rows) {
    const conn = String(r.connection_id);
    const keys = r.bundle_id !== null ? [...(closures.get(String(r.bundle_id)) ?? [])] : [String(r.permission_key)];
    const riskOf = (k: string) => catalog.get(`${conn}\u0000${k}`)?.risk ?? 'low';
    keys.sort((x, y) => RISK_RANK[riskOf(y)] - RISK_RANK[riskOf(x)] || x.localeCompare(y));
    const top = keys.length ? riskOf(keys[0]!) : 'low';
    if (RISK_RANK[top] < minRank) continue;
    const person = String(r.person_id);
    let reviewers: string[];
    if (body.reviewers.kind === 'manager') reviewers = r.manager_id !== null && String(r.manager_status) === 'active' ? [String(r.manager_id)] : [];
    else if (body.reviewers.kind === 'person') reviewers = [body.reviewers.personId];
    else {
      // The owners of its riskiest permissions (a person, or each member of a group).
      const owners = new Set<string>();
      for (const k of keys.filter((k) => riskOf(k) === top)) {
        const o = catalog.get(`${conn}\u0000${k}`)?.owner;
        if (o?.type === 'person') owners.add(o.personId);
        else if (o?.type === 'group') for (const m of groups.get(o.groupId) ?? []) owners.add(m);
      }
      reviewers = [...owners];
    }
    // Nobody reviews their own access; nobody inactive reviews.
    reviewers = reviewers.filter((p) => p !== person && active.has(p));
    if (reviewers.length === 0) reviewers = fallback !== person ? [fallback] : body.escalateTo && body.escalateTo !== person ? [body.escalateTo] : [fallback];
    items.push({ row: r, keys, risk: top, reviewers });
  }

  await w.tx.execute({
    sql: `INSERT INTO review_campaigns (id, name, scope, reviewers, fallback_reviewer, due_at, reminder_days, on_unreviewed, escalate_to,
            escalation_days, after_escalation, status, created_by, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)`,
    args: [
      id,
      body.name,
      JSON.stringify(body.scope),
      JSON.stringify(body.reviewers),
      fallback,
      new Date(due).toISOString(),
      JSON.stringify(body.reminderDays),
      body.onUnreviewed,
      body.onUnreviewed === 'escalate' ? body.escalateTo! : null,
      body.onUnreviewed === 'escalate' ? body.escalationDays : null,
      body.onUnreviewed === 'escalate' ? body.afterEscalation : null,
      actorId,
      nowIso,
    ],
  });
  const statements = items.flatMap(({ row, keys, risk, reviewers }) => {
    const itemId = `item-${randomUUID()}`;
    return [
      {
        sql: `INSERT INTO review_items (id, campaign_id, account_id, person_id, connection_id, assignment_id, bundle_id, permission_key, keys, risk, granted_at, updated_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [
          itemId,
          id,
          String(row.account_id),
          String(row.person_id),
          String(row.connection_id),
          String(row.id),
          row.bundle_id === null ? null : String(row.bundle_id),
          row.permission_key === null ? null : String(row.permission_key),
          JSON.stringify(keys),
          risk,
          String(row.granted_at),
          nowIso,
        ],
      },
      ...reviewers.map((p) => ({ sql: 'INSERT INTO review_item_reviewers (item_id, person_id) VALUES (?, ?)', args: [itemId, p] })),
    ];
  });
  for (let i = 0; i < statements.length; i += CHUNK) await w.tx.batch(statements.slice(i, i + CHUNK));

  await schedule(w.tx, 'review.close', id, new Date(due).toISOString(), nowIso);
  for (const d of body.reminderDays) {
    const at = due - d * DAY_MS;
    if (at > now.getTime()) await schedule(w.tx, 'review.remind', `${id}:${d}`, new Date(at).toISOString(), nowIso);
  }
  await w.audit({
    actorId,
    action: 'review.campaign_created',
    subjectType: 'review_campaign',
    subjectId: id,
    data: {
      name: body.name,
      scope: body.scope,
      reviewers: body.reviewers,
      dueAt: new Date(due).toISOString(),
      onUnreviewed: body.onUnreviewed,
      items: items.length,
    },
  });
  for (const p of new Set(items.flatMap((i) => i.reviewers))) w.affected.add(p);
  return { id, items: items.length };
}

// ---------- reading ----------

const CAMPAIGN_SQL = `SELECT c.*, cb.name AS created_by_name,
    (SELECT COUNT(*) FROM review_items i WHERE i.campaign_id = c.id) AS n_total,
    (SELECT COUNT(*) FROM review_items i WHERE i.campaign_id = c.id AND i.decision IS NULL AND i.outcome IS NULL) AS n_pending,
    (SELECT COUNT(*) FROM review_items i WHERE i.campaign_id = c.id AND i.outcome = 'kept') AS n_kept,
    (SELECT COUNT(*) FROM review_items i WHERE i.campaign_id = c.id AND i.outcome = 'revoked') AS n_revoked,
    (SELECT COUNT(*) FROM review_items i WHERE i.campaign_id = c.id AND i.outcome = 'auto-kept') AS n_auto_kept,
    (SELECT COUNT(*) FROM review_items i WHERE i.campaign_id = c.id AND i.outcome = 'auto-revoked') AS n_auto_revoked,
    (SELECT COUNT(*) FROM review_items i WHERE i.campaign_id = c.id AND i.escalated = 1) AS n_escalated
  FROM review_campaigns c JOIN people cb ON cb.id = c.created_by`;

function campaignFromRow(r: Row): ReviewCampaignView {
  const counts: ReviewCounts = {
    total: Number(r.n_total),
    pending: Number(r.n_pending),
    kept: Number(r.n_kept),
    revoked: Number(r.n_revoked),
    autoKept: Number(r.n_auto_kept),
    autoRevoked: Number(r.n_auto_revoked),
    escalated: Number(r.n_escalated),
  };
  return {
    id: String(r.id),
    name: String(r.name),
    scope: JSON.parse(String(r.scope)) as ReviewCampaignView['scope'],
    reviewers: JSON.parse(String(r.reviewers)) as ReviewCampaignView['reviewers'],
    fallbackReviewerId: String(r.fallback_reviewer),
    dueAt: String(r.due_at),
    reminderDays: JSON.parse(String(r.reminder_days)) as number[],
    onUnreviewed: String(r.on_unreviewed) as ReviewCampaignView['onUnreviewed'],
    escalateTo: r.escalate_to === null ? null : String(r.escalate_to),
    escalationDays: r.escalation_days === null ? null : Number(r.escalation_days),
    afterEscalation: r.after_escalation === null ? null : (String(r.after_escalation) as 'keep'),
    status: String(r.status) as ReviewCampaignView['status'],
    escalatedDueAt: r.escalated_due_at === null ? null : String(r.escalated_due_at),
    createdBy: { id: String(r.created_by), name: String(r.created_by_name) },
    createdAt: String(r.created_at),
    closedAt: r.closed_at === null ? null : String(r.closed_at),
    counts,
  };
}

export async function listCampaigns(db: Db): Promise<ReviewCampaignView[]> {
  return (await db.execute(`${CAMPAIGN_SQL} ORDER BY c.created_at DESC, c.id LIMIT 200`)).rows.map(campaignFromRow);
}

export async function getCampaign(source: Source, id: string): Promise<ReviewCampaignView | null> {
  const [rows] = await readBatch(source, [{ sql: `${CAMPAIGN_SQL} WHERE c.id = ?`, args: [id] }]);
  return rows!.rows[0] ? campaignFromRow(rows!.rows[0]) : null;
}

const ITEM_SQL = `SELECT i.*, c.name AS campaign_name, c.due_at AS campaign_due_at, c.escalated_due_at, c.status AS campaign_status,
    p.name AS person_name, p.department, p.title, p.status AS person_status,
    ac.username, ac.external_user_id, ac.last_login_at, cn.name AS connection_name, cn.kind AS connection_kind,
    b.name AS bundle_name, b.kind AS bundle_kind, d.name AS decided_by_name,
    (SELECT json_group_array(json_object('id', rp.id, 'name', rp.name)) FROM review_item_reviewers rr JOIN people rp ON rp.id = rr.person_id
       WHERE rr.item_id = i.id) AS reviewer_list
  FROM review_items i JOIN review_campaigns c ON c.id = i.campaign_id JOIN people p ON p.id = i.person_id
  JOIN crm_accounts ac ON ac.id = i.account_id JOIN crm_connections cn ON cn.id = i.connection_id
  LEFT JOIN bundles b ON b.id = i.bundle_id LEFT JOIN people d ON d.id = i.decided_by`;

async function itemsFromRows(source: Source, rows: Row[]): Promise<ReviewItemView[]> {
  const wanted = new Set<string>();
  for (const r of rows) for (const k of (JSON.parse(String(r.keys)) as string[]).slice(0, 50)) wanted.add(`${String(r.connection_id)}\u0000${k}`);
  const labels = new Map<string, { en: string; 'zh-CN': string; risk: Risk }>();
  if (wanted.size > 0) {
    const conns = [...new Set(rows.map((r) => String(r.connection_id)))];
    const [cat] = await readBatch(source, [
      {
        sql: `SELECT connection_id, key, label_en, label_zh_cn, risk FROM permission_catalog WHERE connection_id IN (${conns.map(() => '?').join(', ')})`,
        args: conns,
      },
    ]);
    for (const k of cat!.rows) {
      const key = `${String(k.connection_id)}\u0000${String(k.key)}`;
      if (wanted.has(key)) labels.set(key, { en: String(k.label_en), 'zh-CN': String(k.label_zh_cn), risk: String(k.risk) as Risk });
    }
  }
  return rows.map((r) => {
    const keys = JSON.parse(String(r.keys)) as string[];
    const conn = String(r.connection_id);
    return {
      id: String(r.id),
      campaignId: String(r.campaign_id),
      campaignName: String(r.campaign_name),
      dueAt: Number(r.escalated) === 1 && r.escalated_due_at !== null ? String(r.escalated_due_at) : String(r.campaign_due_at),
      person: {
        id: String(r.person_id),
        name: String(r.person_name),
        department: String(r.department),
        title: String(r.title),
        status: String(r.person_status) as 'active',
      },
      account: {
        id: String(r.account_id),
        username: String(r.username),
        externalUserId: String(r.external_user_id),
        lastLoginAt: r.last_login_at === null ? null : String(r.last_login_at),
      },
      connection: { id: conn, name: String(r.connection_name), kind: String(r.connection_kind) as ReviewItemView['connection']['kind'] },
      access:
        r.bundle_id !== null
          ? {
              type: 'bundle',
              bundleId: String(r.bundle_id),
              name: r.bundle_name === null ? String(r.bundle_id) : String(r.bundle_name),
              kind: String(r.bundle_kind ?? 'permissionSet') as 'permissionSet',
            }
          : { type: 'permission', key: String(r.permission_key) },
      keys: keys.slice(0, 50).map((k) => {
        const l = labels.get(`${conn}\u0000${k}`);
        return { key: k, label: l ? { en: l.en, 'zh-CN': l['zh-CN'] } : null, risk: l?.risk ?? null };
      }),
      keyCount: keys.length,
      risk: String(r.risk) as Risk,
      grantedAt: String(r.granted_at),
      reviewers: (JSON.parse(String(r.reviewer_list ?? '[]')) as { id: string; name: string }[]).sort((a, b) => a.name.localeCompare(b.name)),
      escalated: Number(r.escalated) === 1,
      decision: r.decision === null ? null : (String(r.decision) as 'keep'),
      comment: r.comment === null ? null : String(r.comment),
      decidedBy: r.decided_by === null ? null : { id: String(r.decided_by), name: String(r.decided_by_name) },
      decidedAt: r.decided_at === null ? null : String(r.decided_at),
      outcome: r.outcome === null ? null : (String(r.outcome) as 'kept'),
      revocation: r.revocation === null ? null : (JSON.parse(String(r.revocation)) as { taskIds: string[]; requestIds: string[] }),
    };
  });
}

/** Items by id, in the order given. */
export async function itemsByIds(db: Db, ids: string[]): Promise<ReviewItemView[]> {
  if (ids.length === 0) return [];
  const rows = await db.execute(`${ITEM_SQL} WHERE i.id IN (${ids.map(() => '?').join(', ')})`, ids);
  const items = await itemsFromRows(db, rows.rows);
  return ids.map((id) => items.find((i) => i.id === id)!).filter(Boolean);
}

/** The caller's items waiting for a decision, soonest due first. */
export async function myItems(db: Db, personId: string): Promise<ReviewItemView[]> {
  const rows = await db.execute(
    `${ITEM_SQL} WHERE i.id IN (SELECT item_id FROM review_item_reviewers WHERE person_id = ?)
       AND i.decision IS NULL AND i.outcome IS NULL AND c.status IN ('open', 'escalated')
     ORDER BY c.due_at, p.name, i.id LIMIT 1000`,
    [personId],
  );
  return itemsFromRows(db, rows.rows);
}

export async function campaignItems(
  db: Db,
  campaignId: string,
  q: { status: 'pending' | 'decided' | 'all'; limit: number; cursor?: string | undefined },
): Promise<{ items: ReviewItemView[]; nextCursor: string | null }> {
  const where = ['i.campaign_id = ?'];
  const args: InValue[] = [campaignId];
  if (q.status === 'pending') where.push('i.decision IS NULL AND i.outcome IS NULL');
  if (q.status === 'decided') where.push('i.outcome IS NOT NULL');
  if (q.cursor) where.push('i.id > ?'), args.push(q.cursor);
  const rows = await db.execute(`${ITEM_SQL} WHERE ${where.join(' AND ')} ORDER BY i.id LIMIT ?`, [...args, q.limit + 1]);
  const shown = rows.rows.slice(0, q.limit);
  return { items: await itemsFromRows(db, shown), nextCursor: rows.rows.length > q.limit ? String(shown[shown.length - 1]!.id) : null };
}

// ---------- deciding ----------

const uniqueTexts = (xs: string[]) => [...new Set(xs)];

async function takeOut(w: WriteContext, row: Row, actorId: string | null, why: string): Promise<{ taskIds: string[]; requestIds: string[] }> {
  return revokeAssignments(w, String(row.account_id), [String(row.assignment_id)], { kind: 'review', id: String(row.id), actorId, why });
}

/** Keeps or revokes items (all of the caller's, still undecided, in campaigns still open), in one transaction. */
export async function decide(w: WriteContext, actorId: string, body: ReviewDecisionsBody, findings: FindingsService): Promise<string[]> {
  const ids = body.decisions.map((d) => d.itemId);
  if (new Set(ids).size !== ids.length) {
    const i = ids.findIndex((x, n) => ids.indexOf(x) !== n);
    throw ApiFailure.of(400, 'invalid_input', 'decided_twice', {}, { field: `decisions.${i}.itemId` });
  }
  const rows = await w.tx.execute({
    sql: `SELECT i.*, c.status AS campaign_status, c.name AS campaign_name,
            EXISTS (SELECT 1 FROM review_item_reviewers rr WHERE rr.item_id = i.id AND rr.person_id = ?) AS mine
          FROM review_items i JOIN review_campaigns c ON c.id = i.campaign_id WHERE i.id IN (${ids.map(() => '?').join(', ')})`,
    args: [actorId, ...ids],
  });
  const byId = new Map(rows.rows.map((r) => [String(r.id), r] as const));
  for (const [n, d] of body.decisions.entries()) {
    const r = byId.get(d.itemId);
    const field = `decisions.${n}.itemId`;
    if (!r) throw ApiFailure.of(404, 'not_found', 'review_item_not_found', {}, { field });
    if (Number(r.mine) !== 1) throw ApiFailure.of(403, 'forbidden', 'review_item_not_yours', {}, { field });
    if (String(r.person_id) === actorId) throw ApiFailure.of(403, 'forbidden', 'review_own_access', {}, { field });
    if (!['open', 'escalated'].includes(String(r.campaign_status)))
      throw ApiFailure.of(409, 'conflict', 'campaign_closed', { campaign: String(r.campaign_name), campaignStatus: String(r.campaign_status) }, { field });
    if (r.decision !== null || r.outcome !== null) throw ApiFailure.of(409, 'conflict', 'review_item_decided', {}, { field });
  }
  for (const d of body.decisions) {
    const r = byId.get(d.itemId)!;
    const revocation =
      d.decision === 'revoke' ? await takeOut(w, r, actorId, `A reviewer decided to revoke it (review "${String(r.campaign_name)}": ${d.comment}).`) : null;
    await w.tx.execute({
      sql: `UPDATE review_items SET decision = ?, comment = ?, decided_by = ?, decided_at = ?, outcome = ?, revocation = ?, updated_at = ? WHERE id = ?`,
      args: [
        d.decision,
        d.comment || null,
        actorId,
        w.nowIso,
        d.decision === 'keep' ? 'kept' : 'revoked',
        revocation ? JSON.stringify(revocation) : null,
        w.nowIso,
        d.itemId,
      ],
    });
    await w.audit({
      actorId,
      action: 'review.decided',
      subjectType: 'review_item',
      subjectId: d.itemId,
      data: {
        campaignId: String(r.campaign_id),
        decision: d.decision,
        comment: d.comment,
        accountId: String(r.account_id),
        assignmentId: String(r.assignment_id),
        revocation,
      },
    });
  }
  if (body.decisions.some((d) => d.decision === 'revoke')) findings.track(w);
  // A campaign whose items are all decided closes now (its scheduled close finds nothing left).
  for (const campaignId of uniqueTexts(rows.rows.map((r) => String(r.campaign_id)))) {
    const left = await w.tx.execute({
      sql: 'SELECT COUNT(*) AS n FROM review_items WHERE campaign_id = ? AND decision IS NULL AND outcome IS NULL',
      args: [campaignId],
    });
    if (Number(left.rows[0]!.n) === 0) await closeCampaign(w, campaignId, 'all items decided');
  }
  return ids;
}

async function closeCampaign(w: WriteContext, campaignId: string, why: string): Promise<void> {
  const r = await w.tx.execute({
    sql: "UPDATE review_campaigns SET status = 'closed', closed_at = ? WHERE id = ? AND status IN ('open', 'escalated')",
    args: [w.nowIso, campaignId],
  });
  if (r.rowsAffected === 0) return;
  await cancelScheduled(w.tx, 'review.remind', `${campaignId}:`, w.nowIso);
  await w.audit({ actorId: null, action: 'review.campaign_closed', subjectType: 'review_campaign', subjectId: campaignId, data: { why } });
}

/** Applies `keep` or `revoke` to every item nobody decided (at the due date), recorded as auto-kept / auto-revoked. */
async function settleUndecided(w: WriteContext, campaignId: string, action: 'keep' | 'revoke', findings: FindingsService | undefined): Promise<number> {
  const rows = await w.tx.execute({
    sql: 'SELECT * FROM review_items WHERE campaign_id = ? AND decision IS NULL AND outcome IS NULL ORDER BY id',
    args: [campaignId],
  });
  for (const r of rows.rows) {
    const revocation =
      action === 'revoke' ? await takeOut(w, r, null, 'Nobody reviewed it by the due date, and the campaign revokes what is not reviewed.') : null;
    await w.tx.execute({
      sql: 'UPDATE review_items SET outcome = ?, revocation = ?, updated_at = ? WHERE id = ?',
      args: [action === 'keep' ? 'auto-kept' : 'auto-revoked', revocation ? JSON.stringify(revocation) : null, w.nowIso, String(r.id)],
    });
  }
  if (rows.rows.length > 0)
    await w.audit({
      actorId: null,
      action: action === 'keep' ? 'review.auto_kept' : 'review.auto_revoked',
      subjectType: 'review_campaign',
      subjectId: campaignId,
      data: { items: rows.rows.map((r) => String(r.id)) },
    });
  if (action === 'revoke' && rows.rows.length > 0) findings?.track(w);
  return rows.rows.length;
}

/** The due date (scheduled): undecided items are kept, revoked, or escalated as the campaign says. */
export async function campaignDue(w: WriteContext, campaignId: string, findings: FindingsService | undefined): Promise<void> {
  const c = (await w.tx.execute({ sql: 'SELECT * FROM review_campaigns WHERE id = ?', args: [campaignId] })).rows[0];
  if (!c || String(c.status) !== 'open') return;
  const action = String(c.on_unreviewed) as 'keep' | 'revoke' | 'escalate';
  if (action !== 'escalate') {
    await settleUndecided(w, campaignId, action, findings);
    await closeCampaign(w, campaignId, `due date: undecided items ${action === 'keep' ? 'kept' : 'revoked'}`);
    return;
  }
  const to = String(c.escalate_to);
  const dueAt = new Date(w.now.getTime() + Number(c.escalation_days ?? 7) * DAY_MS).toISOString();
  const undecided = await w.tx.execute({
    sql: 'SELECT id, person_id FROM review_items WHERE campaign_id = ? AND decision IS NULL AND outcome IS NULL',
    args: [campaignId],
  });
  for (const r of undecided.rows) {
    await w.tx.execute({ sql: 'DELETE FROM review_item_reviewers WHERE item_id = ?', args: [String(r.id)] });
    // The escalation reviewer never reviews their own access: the campaign's fallback does.
    const reviewer = String(r.person_id) === to ? String(c.fallback_reviewer) : to;
    await w.tx.execute({ sql: 'INSERT INTO review_item_reviewers (item_id, person_id) VALUES (?, ?)', args: [String(r.id), reviewer] });
    await w.tx.execute({ sql: 'UPDATE review_items SET escalated = 1, updated_at = ? WHERE id = ?', args: [w.nowIso, String(r.id)] });
  }
  await w.tx.execute({ sql: "UPDATE review_campaigns SET status = 'escalated', escalated_due_at = ? WHERE id = ?", args: [dueAt, campaignId] });
  await schedule(w.tx, 'review.escalation', campaignId, dueAt, w.nowIso);
  await w.audit({
    actorId: null,
    action: 'review.escalated',
    subjectType: 'review_campaign',
    subjectId: campaignId,
    data: { to, items: undecided.rows.length, dueAt },
  });
  if (undecided.rows.length > 0) await notify(w, to, 'review.escalated', { campaignId, name: String(c.name), items: undecided.rows.length, dueAt });
}

/** The escalation's due date (scheduled): what is still undecided is kept or revoked as the campaign says. */
export async function escalationDue(w: WriteContext, campaignId: string, findings: FindingsService | undefined): Promise<void> {
  const c = (await w.tx.execute({ sql: 'SELECT * FROM review_campaigns WHERE id = ?', args: [campaignId] })).rows[0];
  if (!c || String(c.status) !== 'escalated') return;
  const action = String(c.after_escalation ?? 'revoke') as 'keep' | 'revoke';
  await settleUndecided(w, campaignId, action, findings);
  await closeCampaign(w, campaignId, `escalation due: undecided items ${action === 'keep' ? 'kept' : 'revoked'}`);
}

/** A reminder (scheduled): every reviewer with items left is told how many, and by when. */
export async function remindReviewers(w: WriteContext, subject: string): Promise<void> {
  const campaignId = subject.slice(0, subject.lastIndexOf(':'));
  const c = (await w.tx.execute({ sql: 'SELECT name, due_at, status FROM review_campaigns WHERE id = ?', args: [campaignId] })).rows[0];
  if (!c || String(c.status) !== 'open') return;
  const pending = await w.tx.execute({
    sql: `SELECT rr.person_id, COUNT(*) AS n FROM review_items i JOIN review_item_reviewers rr ON rr.item_id = i.id
          WHERE i.campaign_id = ? AND i.decision IS NULL AND i.outcome IS NULL GROUP BY rr.person_id ORDER BY rr.person_id`,
    args: [campaignId],
  });
  for (const p of pending.rows)
    await notify(w, String(p.person_id), 'review.reminder', { campaignId, name: String(c.name), pending: Number(p.n), dueAt: String(c.due_at) });
  if (pending.rows.length > 0)
    await w.audit({
      actorId: null,
      action: 'review.reminded',
      subjectType: 'review_campaign',
      subjectId: campaignId,
      data: { reviewers: pending.rows.map((p) => String(p.person_id)) },
    });
}

export async function cancelCampaign(w: WriteContext, actorId: string, campaignId: string): Promise<void> {
  const c = (await w.tx.execute({ sql: 'SELECT status FROM review_campaigns WHERE id = ?', args: [campaignId] })).rows[0];
  if (!c) throw refuse.notFound('campaign_not_found');
  if (!['open', 'escalated'].includes(String(c.status))) throw refuse.conflict('campaign_not_open', { campaignStatus: String(c.status) });
  await w.tx.execute({ sql: "UPDATE review_campaigns SET status = 'cancelled', closed_at = ? WHERE id = ?", args: [w.nowIso, campaignId] });
  for (const kind of ['review.close', 'review.escalation'] as const) await cancelScheduled(w.tx, kind, campaignId, w.nowIso);
  await cancelScheduled(w.tx, 'review.remind', `${campaignId}:`, w.nowIso);
  await w.audit({ actorId, action: 'review.campaign_cancelled', subjectType: 'review_campaign', subjectId: campaignId, data: {} });
}

// ---------- the report ----------

export async function campaignReport(db: Db, campaignId: string, now: Date): Promise<ReviewReportResponse | null> {
  const campaign = await getCampaign(db, campaignId);
  if (!campaign) return null;
  const rows = await db.execute(`${ITEM_SQL} WHERE i.campaign_id = ? ORDER BY p.name, i.id LIMIT 5000`, [campaignId]);
  const items = await itemsFromRows(db, rows.rows);
  const byReviewer = new Map<string, { reviewer: { id: string; name: string }; decided: number; kept: number; revoked: number; pending: number }>();
  for (const i of items) {
    for (const r of i.decidedBy ? [i.decidedBy] : i.reviewers) {
      const e = byReviewer.get(r.id) ?? { reviewer: r, decided: 0, kept: 0, revoked: 0, pending: 0 };
      if (i.decidedBy) {
        e.decided++;
        if (i.decision === 'keep') e.kept++;
        else e.revoked++;
      } else if (i.outcome === null) e.pending++;
      byReviewer.set(r.id, e);
    }
  }
  return {
    campaign,
    byReviewer: [...byReviewer.values()].sort((a, b) => a.reviewer.name.localeCompare(b.reviewer.name)),
    items,
    generatedAt: now.toISOString(),
  };
}

export async function* campaignCsv(db: Db, campaignId: string): AsyncGenerator<string> {
  yield csvRow(REVIEW_CSV_HEADER);
  let after = '';
  for (;;) {
    const rows = await db.execute(`${ITEM_SQL} WHERE i.campaign_id = ? AND i.id > ? ORDER BY i.id LIMIT 500`, [campaignId, after]);
    for (const i of await itemsFromRows(db, rows.rows))
      yield csvRow([
        i.campaignName,
        i.id,
        i.person.name,
        i.person.department,
        i.person.title,
        i.connection.name,
        i.account.username,
        i.access.type === 'bundle' ? i.access.name : i.access.key,
        i.keys.map((k) => k.key).join(' '),
        i.risk,
        i.grantedAt,
        i.reviewers.map((r) => r.name).join('; '),
        i.decision ?? '',
        i.comment ?? '',
        i.decidedBy?.name ?? '',
        i.decidedAt ?? '',
        i.outcome ?? 'pending',
        i.escalated ? 'yes' : 'no',
        (i.revocation?.taskIds ?? []).join(' '),
        (i.revocation?.requestIds ?? []).join(' '),
      ]);
    if (rows.rows.length < 500) return;
    after = String(rows.rows[rows.rows.length - 1]!.id);
  }
}
