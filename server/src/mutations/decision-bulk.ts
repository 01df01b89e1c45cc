/**
 * An approver's bulk decision, fast: consecutive approvals and denials in one transaction are planned in
 * memory with the same checks as one decision (`planDecision`), then written together — decisions, request
 * rows, fulfilment jobs and admin tasks, messages and applied mutation ids each in one or a few statements.
 * Anything else (a question, an approval that opens the next stage, a future access window, an extension,
 * an answer or a cancellation) goes the one-by-one way, after what was gathered so far is written.
 */
import type { AccessRequest, AnyMutation, MutationResult, Person, RequestFulfilment } from '@accesslens/shared';
import { insertRows } from '../db-bulk.ts';
import { ApiFailure } from '../errors.ts';
import { queueGrants, type GrantRequest } from '../connectors/fulfilment.ts';
import { notifyMany, type NotifyInput } from '../lifecycle/outbox.ts';
import { REQUEST_COLUMNS, requestFromRow } from '../model.ts';
import type { WriteContext } from '../write.ts';
import { planDecision } from './decision-record.ts';

export class BulkDecisions {
  readonly #requests = new Map<string, AccessRequest>();
  readonly #applied = new Map<string, string>();
  readonly #dirty = new Set<string>();
  #decisions: (string | number | null)[][] = [];
  #messages: NotifyInput[] = [];
  #grants: { request: GrantRequest; days: number }[] = [];
  #done: string[] = [];

  constructor(
    private readonly w: WriteContext,
    private readonly me: Person,
  ) {}

  /** Reads what the group needs in two statements: the mutation ids already applied, and the requests decided. */
  async prefetch(group: readonly AnyMutation[]): Promise<void> {
    const ids = group.map((m) => m.id);
    const requestIds = [...new Set(group.filter((m) => m.name === 'decision.record').map((m) => m.args.requestId))];
    const [applied, requests] = await this.w.tx.batch([
      { sql: 'SELECT id, person_id FROM applied_mutations WHERE id IN (SELECT value FROM json_each(?))', args: [JSON.stringify(ids)] },
      { sql: `SELECT ${REQUEST_COLUMNS} FROM requests r WHERE r.id IN (SELECT value FROM json_each(?))`, args: [JSON.stringify(requestIds)] },
    ]);
    for (const r of applied!.rows) this.#applied.set(String(r.id), String(r.person_id));
    for (const r of requests!.rows) this.#requests.set(String(r.id), requestFromRow(r));
  }

  /** A mutation went the one-by-one way: its id is applied, and the request it touched is read again when needed. */
  appliedElsewhere(m: AnyMutation): void {
    this.#applied.set(m.id, this.me.id);
    if ('requestId' in m.args) this.#requests.delete(m.args.requestId);
  }

  async #request(id: string): Promise<AccessRequest | undefined> {
    let r = this.#requests.get(id);
    if (!r) {
      const rows = await this.w.tx.execute({ sql: `SELECT ${REQUEST_COLUMNS} FROM requests r WHERE r.id = ?`, args: [id] });
      if (rows.rows[0]) this.#requests.set(id, (r = requestFromRow(rows.rows[0])));
    }
    return r;
  }

  /** Applies `m` in memory when it can (its writes wait for `flush`); null when it must go one by one. */
  async tryApply(m: AnyMutation, index: number): Promise<MutationResult | null> {
    if (m.name !== 'decision.record' || m.args.outcome === 'needs-info') return null;
    const owner = this.#applied.get(m.id);
    if (owner !== undefined) {
      if (owner !== this.me.id) return rejected(m.id, ApiFailure.of(409, 'conflict', 'mutation_id_used', {}, { field: `mutations.${index}.id` }));
      return { id: m.id, status: 'duplicate' };
    }
    const field = (f: string) => `mutations.${index}.args.${f}`;
    const request = await this.#request(m.args.requestId);
    if (!request) return rejected(m.id, ApiFailure.of(404, 'not_found', 'request_not_found', {}, { field: field('requestId') }));
    let plan: ReturnType<typeof planDecision>;
    try {
      plan = planDecision(this.w, request, this.me, { ...m.args, outcome: m.args.outcome }, field);
    } catch (error) {
      if (error instanceof ApiFailure) return rejected(m.id, error);
      throw error;
    }
    if (plan.status === 'pending' && plan.next) return null;
    if (plan.status === 'approved' && (request.extendsRequestId || (request.startsAt && request.startsAt > this.w.nowIso))) return null;

    const { w } = this;
    this.#decisions.push([request.id, plan.position, this.me.id, plan.decision.outcome, plan.reason, plan.days, plan.decision.decidedAt]);
    this.#requests.set(request.id, {
      ...request,
      status: plan.status,
      stages: plan.stages,
      timeline: [...(request.timeline ?? []), plan.timeline],
      decidedAt: plan.status === 'pending' ? request.decidedAt : w.nowIso,
      updatedAt: w.nowIso,
    });
    this.#dirty.add(request.id);
    await w.audit(plan.audit);
    if (plan.message) this.#messages.push(plan.message);
    if (plan.status === 'approved') this.#grants.push({ request, days: plan.grantDays! });
    for (const id of plan.affected) w.affected.add(id);
    this.#applied.set(m.id, this.me.id);
    this.#done.push(m.id);
    return { id: m.id, status: 'applied' };
  }

  /** Writes everything gathered since the last flush. */
  async flush(): Promise<void> {
    if (this.#done.length === 0) return;
    const { w } = this;
    const fulfilments: Map<string, RequestFulfilment> = await queueGrants(w, this.#grants);
    await insertRows(w.tx, 'request_decisions', ['request_id', 'stage', 'decider_id', 'outcome', 'reason', 'duration_days', 'decided_at'], this.#decisions);
    const updates = [...this.#dirty].map((id) => {
      const r = this.#requests.get(id)!;
      const f = fulfilments.get(id);
      if (f) this.#requests.set(id, { ...r, fulfilment: f });
      return [id, r.status, JSON.stringify(r.stages), JSON.stringify(r.timeline ?? []), r.decidedAt, f ? JSON.stringify(f) : null];
    });
    await w.tx.execute({
      sql: `UPDATE requests SET status = v.status, stages = v.stages, timeline = v.timeline, decided_at = v.decided_at,
              fulfilment = COALESCE(v.fulfilment, requests.fulfilment), updated_at = ?, version = ?
            FROM (SELECT value ->> 0 AS id, value ->> 1 AS status, value ->> 2 AS stages, value ->> 3 AS timeline,
                    value ->> 4 AS decided_at, value ->> 5 AS fulfilment FROM json_each(?)) AS v
            WHERE requests.id = v.id`,
      args: [w.nowIso, await w.version(), JSON.stringify(updates)],
    });
    await notifyMany(
      w,
      this.#messages.map((input) => ({ input, request: this.#requests.get(input.requestId)! })),
    );
    await insertRows(
      w.tx,
      'applied_mutations',
      ['id', 'person_id', 'name', 'result', 'applied_at'],
      this.#done.map((id) => [id, this.me.id, 'decision.record', '{"status":"applied"}', w.nowIso]),
    );
    this.#decisions = [];
    this.#messages = [];
    this.#grants = [];
    this.#done = [];
    this.#dirty.clear();
  }
}

const rejected = (id: string, error: ApiFailure): MutationResult => ({ id, status: 'rejected', error: error.body.error });
