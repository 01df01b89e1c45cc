-- AccessLens schema v15: a finding can be remediated from the flags on CRM user pages. Its revoke
-- jobs and admin tasks are recorded like the console's (console_revocations), with origin_kind
-- `finding` and origin_id the finding's id. SQLite cannot change a CHECK constraint in place: the
-- table is rebuilt with its rows.
CREATE TABLE console_revocations_v15 (
  id TEXT PRIMARY KEY,
  origin_kind TEXT NOT NULL CHECK (origin_kind IN ('review', 'licence', 'finding')),
  origin_id TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  assignment_ids TEXT NOT NULL,
  task_id TEXT REFERENCES admin_tasks (id),
  request_ids TEXT NOT NULL DEFAULT '[]',
  created_by TEXT REFERENCES people (id),
  created_at TEXT NOT NULL,
  settled_at TEXT
);
INSERT INTO console_revocations_v15 (id, origin_kind, origin_id, account_id, assignment_ids, task_id, request_ids, created_by, created_at, settled_at)
  SELECT id, origin_kind, origin_id, account_id, assignment_ids, task_id, request_ids, created_by, created_at, settled_at FROM console_revocations;
DROP TABLE console_revocations;
ALTER TABLE console_revocations_v15 RENAME TO console_revocations;
CREATE INDEX console_revocations_origin ON console_revocations (origin_kind, origin_id);
CREATE INDEX console_revocations_account ON console_revocations (account_id);
CREATE INDEX console_revocations_open ON console_revocations (settled_at) WHERE settled_at IS NULL;
