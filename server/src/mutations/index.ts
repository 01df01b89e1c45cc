import type { AnyMutation, MutationResult, Person } from '@accesslens/shared';
import type { Db } from '../db.ts';
import { ApiFailure } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import { runWrite, type WriteContext } from '../write.ts';
import { BulkDecisions } from './decision-bulk.ts';
import { recordDecision } from './decision-record.ts';
import { answerRequest } from './request-answer.ts';
import { cancelRequest } from './request-cancel.ts';
import { reportProblem } from '../connectors/fulfilment.ts';
import { createRequest, withField } from './request-create.ts';
import { reportUsage } from './usage-report.ts';

/**
 * Mutations that touch requests only (never the findings engine): consecutive ones share one write
 * transaction — an approver's bulk decision of 500 requests is one commit. Approvals and denials are
 * planned in memory and written together (decision-bulk.ts); the others each run in a savepoint.
 */
const GROUPED: ReadonlySet<AnyMutation['name']> = new Set(['decision.record', 'request.answer', 'request.cancel']);

/**
 * Applies each mutation together with its applied_mutations row, so a retried batch never applies anything
 * twice. A rejection rolls back only that mutation: each runs in its own write transaction, or — for
 * consecutive decisions, answers and cancellations — in its own savepoint of one shared transaction.
 */
export async function applyMutations(
  db: Db,
  me: Person,
  mutations: AnyMutation[],
  now: () => Date,
  findings: FindingsService,
  notifier?: Notifier,
): Promise<MutationResult[]> {
  const results: MutationResult[] = [];
  let i = 0;
  while (i < mutations.length) {
    if (!GROUPED.has(mutations[i]!.name)) {
      results.push(await applyOne(db, me, mutations[i]!, i, now(), findings, notifier));
      i++;
      continue;
    }
    let j = i;
    while (j < mutations.length && GROUPED.has(mutations[j]!.name)) j++;
    results.push(...(await applyGroup(db, me, mutations.slice(i, j), i, now(), findings, notifier)));
    i = j;
  }
  return results;
}

async function applyGroup(
  db: Db,
  me: Person,
  group: AnyMutation[],
  offset: number,
  now: Date,
  findings: FindingsService,
  notifier?: Notifier,
): Promise<MutationResult[]> {
  return runWrite(
    db,
    now,
    async (w) => {
      w.deferAudit();
      const bulk = new BulkDecisions(w, me);
      await bulk.prefetch(group);
      const results: MutationResult[] = [];
      for (const [k, m] of group.entries()) {
        const fast = await bulk.tryApply(m, offset + k);
        if (fast) {
          results.push(fast);
          continue;
        }
        await bulk.flush();
        try {
          results.push(await w.savepoint(`m${k}`, () => applyIn(w, me, m, offset + k, findings)));
          bulk.appliedElsewhere(m);
        } catch (error) {
          if (error instanceof ApiFailure) results.push({ id: m.id, status: 'rejected', error: error.body.error });
          else throw error;
        }
      }
      await bulk.flush();
      return results;
    },
    notifier,
  );
}

async function applyOne(db: Db, me: Person, m: AnyMutation, index: number, now: Date, findings: FindingsService, notifier?: Notifier): Promise<MutationResult> {
  // The policy engine catches up (and moves its clock) outside the mutation's transaction, so a
  // rejected request does not throw that work away.
  if (m.name === 'request.create') await findings.ensureCurrent(now);
  try {
    return await runWrite(db, now, (w) => applyIn(w, me, m, index, findings), notifier);
  } catch (error) {
    if (error instanceof ApiFailure) return { id: m.id, status: 'rejected', error: error.body.error };
    throw error;
  }
}

/** One mutation inside a write: at most once (its id is stored with its effect). */
async function applyIn(w: WriteContext, me: Person, m: AnyMutation, index: number, findings: FindingsService): Promise<MutationResult> {
  const field = (f: string) => `mutations.${index}.args.${f}`;
  const prior = await w.tx.execute({ sql: 'SELECT person_id FROM applied_mutations WHERE id = ?', args: [m.id] });
  if (prior.rows[0]) {
    if (prior.rows[0].person_id !== me.id) throw ApiFailure.of(409, 'conflict', 'mutation_id_used', {}, { field: `mutations.${index}.id` });
    return { id: m.id, status: 'duplicate' } satisfies MutationResult;
  }
  switch (m.name) {
    case 'request.create':
      await createRequest(w, me, m.args, field, findings);
      break;
    case 'request.cancel':
      await cancelRequest(w, me, m.args, field);
      break;
    case 'decision.record':
      await recordDecision(w, me, m.args, field, findings);
      break;
    case 'request.answer':
      await answerRequest(w, me, m.args, field);
      break;
    case 'usage.report':
      await reportUsage(w, me, m.args, field, findings);
      break;
    case 'request.report-problem':
      try {
        await reportProblem(w, me.id, m.args.requestId, m.args.page);
      } catch (error) {
        if (error instanceof ApiFailure && (error.code === 'not_found' || error.code === 'forbidden')) throw withField(error, field('requestId'));
        throw error;
      }
      break;
  }
  await w.tx.execute({
    sql: 'INSERT INTO applied_mutations (id, person_id, name, result, applied_at) VALUES (?, ?, ?, ?, ?)',
    args: [m.id, me.id, m.name, JSON.stringify({ status: 'applied' }), w.nowIso],
  });
  return { id: m.id, status: 'applied' } satisfies MutationResult;
}
