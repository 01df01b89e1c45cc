import type { AnyMutation, MutationResult, Person } from '@accesslens/shared';
import type { Db } from '../db.ts';
import { ApiFailure } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import type { Notifier } from '../notifier.ts';
import { runWrite } from '../write.ts';
import { recordDecision } from './decision-record.ts';
import { cancelRequest } from './request-cancel.ts';
import { reportProblem } from '../connectors/fulfilment.ts';
import { createRequest, withField } from './request-create.ts';
import { reportUsage } from './usage-report.ts';

/**
 * Applies each mutation in its own write transaction together with its applied_mutations row, so a
 * retried batch never applies anything twice. A rejection rolls back only that mutation.
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
  for (const [index, m] of mutations.entries()) results.push(await applyOne(db, me, m, index, now(), findings, notifier));
  return results;
}

async function applyOne(
  db: Db,
  me: Person,
  m: AnyMutation,
  index: number,
  now: Date,
  findings: FindingsService,
  notifier?: Notifier,
): Promise<MutationResult> {
  const field = (f: string) => `mutations.${index}.args.${f}`;
  // The policy engine catches up (and moves its clock) outside the mutation's transaction, so a
  // rejected request does not throw that work away.
  if (m.name === 'request.create') await findings.ensureCurrent(now);
  try {
    return await runWrite(
      db,
      now,
      async (w) => {
        const prior = await w.tx.execute({ sql: 'SELECT person_id FROM applied_mutations WHERE id = ?', args: [m.id] });
        if (prior.rows[0]) {
          if (prior.rows[0].person_id !== me.id)
            throw ApiFailure.of(409, 'conflict', 'mutation_id_used', {}, { field: `mutations.${index}.id` });
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
            await recordDecision(w, me, m.args, field);
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
      },
      notifier,
    );
  } catch (error) {
    if (error instanceof ApiFailure) return { id: m.id, status: 'rejected', error: error.body.error };
    throw error;
  }
}
