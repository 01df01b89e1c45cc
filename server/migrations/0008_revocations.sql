-- AccessLens schema v8: revocations after departures, suspensions and moves.
--
-- The revocation planner (server/src/revocations/planner.ts) claims unprocessed directory_events
-- (migration 0003) and, in the same transaction that sets their processed_at, writes one row here per
-- CRM account and handling: what to take out and when, as the policy's `revocations` setting says.
-- `automatic` rows are durable jobs, run by whichever server process claims them (lease + atomic
-- claim, as fulfilment_jobs); `manual` rows are done through an admin task. Works on a database with
-- data in it: the table is new, and events already processed are not planned again.

CREATE TABLE revocations (
  id TEXT PRIMARY KEY,
  event_id INTEGER NOT NULL REFERENCES directory_events (id),
  person_id TEXT NOT NULL REFERENCES people (id),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  -- The directory event's kind.
  cause TEXT NOT NULL CHECK (cause IN ('departed', 'deactivated', 'moved')),
  -- JSON {from: {status, department, title}, to: {…}, baselineIds: [...]}: the reason, as planned.
  context TEXT NOT NULL,
  -- The policy's mode for this cause and connection when it was planned.
  mode TEXT NOT NULL CHECK (mode IN ('immediately', 'end-of-day', 'task')),
  -- automatic: the connector removes it (this row is the job); manual: an administrator does (task_id).
  handling TEXT NOT NULL CHECK (handling IN ('automatic', 'manual')),
  -- JSON {externalUserId, username, assignments: [{id, externalId, bundleId, bundleExternalId, bundleName,
  -- bundleKind, key, requestId}], deactivate}: what to remove, and whether to deactivate the CRM user.
  plan TEXT NOT NULL,
  -- queued (waiting for due_at, or a retry) → running (leased) → done | failed (an admin task is open) |
  -- cancelled; manual rows are `task` until the administrator marks the task done.
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'task', 'failed', 'done', 'cancelled')),
  -- When it may run: now, or the end of the person's day (time_zone says whose) for end-of-day.
  due_at TEXT NOT NULL,
  time_zone TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until TEXT,
  last_error TEXT,
  -- Why a person must act, why it failed or was cancelled: a code (shared FULFILMENT_REASONS, or
  -- reactivated / inside-baseline) and the English detail.
  reason_code TEXT,
  reason TEXT,
  task_id TEXT REFERENCES admin_tasks (id),
  -- JSON: what the CRM showed afterwards (assignments removed, user deactivated).
  result TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT,
  -- One plan per event, account and handling: planning the same event twice cannot double it.
  UNIQUE (event_id, account_id, handling)
);
CREATE INDEX revocations_due ON revocations (state, due_at);
CREATE INDEX revocations_order ON revocations (due_at, id);
CREATE INDEX revocations_person ON revocations (person_id, due_at, id);
CREATE INDEX revocations_connection ON revocations (connection_id, due_at, id);
CREATE INDEX revocations_account ON revocations (account_id, state);
CREATE INDEX revocations_task ON revocations (task_id) WHERE task_id IS NOT NULL;
