/**
 * A request's timeline (shared `timelineEntry`): every step the requester and approvers should see, in
 * order, on the request itself (so sync carries it), written in the transaction of the step.
 */
import { DEFAULT_LIFECYCLE, type LifecycleSettings, type OrgPolicy, type TimelineEntry } from '@accesslens/shared';
import type { WriteContext } from '../write.ts';

export type TimelineInput = Omit<TimelineEntry, 'at' | 'actorId' | 'personIds' | 'stage' | 'text'> &
  Partial<Pick<TimelineEntry, 'actorId' | 'personIds' | 'stage' | 'text'>>;

/** The entry `input` makes now. */
export function timelineEntryOf(w: Pick<WriteContext, 'nowIso'>, input: TimelineInput): TimelineEntry {
  return {
    at: w.nowIso,
    kind: input.kind,
    actorId: input.actorId ?? null,
    personIds: [...new Set(input.personIds ?? [])],
    stage: input.stage ?? null,
    text: input.text ?? null,
    ...(input.requestId ? { requestId: input.requestId } : {}),
    ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
  };
}

/** SQL that appends an entry to `timeline` in an UPDATE of the request: `timeline = ${TIMELINE_APPEND}` with the entry's JSON as argument. */
export const TIMELINE_APPEND = "json_insert(timeline, '$[#]', json(?))";

/** Appends one entry to the request's timeline at this write's version (the request row moves with it). */
export async function appendTimeline(w: WriteContext, requestId: string, input: TimelineInput): Promise<TimelineEntry> {
  const entry = timelineEntryOf(w, input);
  await w.tx.execute({
    sql: `UPDATE requests SET timeline = json_insert(timeline, '$[#]', json(?)), updated_at = ?, version = ? WHERE id = ?`,
    args: [JSON.stringify(entry), w.nowIso, await w.version(), requestId],
  });
  return entry;
}

/**
 * The lifecycle settings for a request routed by `ruleIds`: the policy's defaults, each field overridden by
 * the first of those rules that sets it.
 */
export function lifecycleFor(policy: Pick<OrgPolicy, 'lifecycle' | 'requestRules'>, ruleIds: readonly string[]): LifecycleSettings {
  const base: LifecycleSettings = { ...DEFAULT_LIFECYCLE, ...(policy.lifecycle ?? {}) };
  const rules = ruleIds.map((id) => policy.requestRules.find((r) => r.id === id)).filter((r) => r !== undefined);
  const out = { ...base };
  for (const key of Object.keys(base) as (keyof LifecycleSettings)[]) {
    const rule = rules.find((r) => r.lifecycle && r.lifecycle[key] !== undefined);
    if (rule) (out as Record<string, unknown>)[key] = rule.lifecycle![key];
  }
  return out;
}
