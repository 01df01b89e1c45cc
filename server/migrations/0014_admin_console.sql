-- AccessLens schema v14: the admin console. Findings reach admins (synced, temporary grants), four-eyes
-- policy proposals, access reviews, licence reminders, daily findings counts, admins' notices, and one
-- durable schedule for all of it.
--
-- Works on a database with data in it: findings are copied into the new table (version 0: every admin's
-- next snapshot carries them), other tables are new.

-- ---------- findings: synced to admins, and "temporary" ----------

-- status `temporary`: the finding's cause is a grant an approved request made for a limited time and
-- still inside its window (informational, not an open finding); `temporary` holds JSON
-- {requestId, approvedBy: [personId], automatic, grantedAt, expiresAt}. `version` is the sync version of
-- the write that last changed the row (admins' slices carry findings of the accounts they look at).
CREATE TABLE findings_v14 (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('beyond-baseline', 'sod-conflict', 'high-risk', 'super-admin', 'unused',
    'dormant', 'peer-outlier', 'inactive-person', 'expired-grant', 'outside-process')),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  person_id TEXT NOT NULL REFERENCES people (id),
  severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  severity_rank INTEGER NOT NULL CHECK (severity_rank BETWEEN 0 AND 3),
  keys TEXT NOT NULL,
  bundle_ids TEXT NOT NULL,
  evidence TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'temporary', 'remediated')),
  reopened INTEGER NOT NULL DEFAULT 0 CHECK (reopened IN (0, 1)),
  temporary TEXT,
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  resolved_at TEXT,
  updated_at TEXT NOT NULL,
  basis_version INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO findings_v14 (id, kind, connection_id, account_id, person_id, severity, severity_rank, keys, bundle_ids, evidence,
    status, reopened, temporary, first_seen_at, last_seen_at, resolved_at, updated_at, basis_version, version)
  SELECT id, kind, connection_id, account_id, person_id, severity, severity_rank, keys, bundle_ids, evidence,
    status, reopened, NULL, first_seen_at, last_seen_at, resolved_at, updated_at, basis_version, 0 FROM findings;
DROP TABLE findings;
ALTER TABLE findings_v14 RENAME TO findings;
CREATE INDEX findings_status_order ON findings (status, severity_rank DESC, id);
CREATE INDEX findings_kind ON findings (kind, status, severity_rank DESC, id);
CREATE INDEX findings_person ON findings (person_id, status);
CREATE INDEX findings_connection ON findings (connection_id, status, severity_rank DESC, id);
CREATE INDEX findings_account ON findings (account_id, status);
CREATE INDEX findings_version ON findings (version);

-- The accounts each admin looks at (CRM user pages, the flags' query by external user id): their
-- findings travel in that admin's sync slice. Bounded per admin (the oldest are dropped).
CREATE TABLE finding_watches (
  person_id TEXT NOT NULL REFERENCES people (id),
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  watched_at TEXT NOT NULL,
  PRIMARY KEY (person_id, account_id)
);
CREATE INDEX finding_watches_age ON finding_watches (person_id, watched_at);

-- Open findings per day (the console's trend), written once a day by whichever process claims the day.
CREATE TABLE findings_daily (
  day TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  department TEXT NOT NULL,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  open INTEGER NOT NULL,
  PRIMARY KEY (day, connection_id, department, kind, severity)
);

-- ---------- policy with four eyes ----------

-- A change of the policy is a proposal; another administrator approves it before it applies.
-- `beneficiaries`: JSON [{personId, reasons: [...]}], administrators who would gain from it (computed
-- when proposed, and again when decided). `applied_version`: the policy version it became.
CREATE TABLE policy_proposals (
  id TEXT PRIMARY KEY,
  base_version INTEGER NOT NULL,
  document TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  proposed_by TEXT NOT NULL REFERENCES people (id),
  proposed_at TEXT NOT NULL,
  beneficiaries TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'withdrawn', 'superseded')),
  decided_by TEXT REFERENCES people (id),
  decided_at TEXT,
  decision_note TEXT,
  applied_version INTEGER
);
CREATE INDEX policy_proposals_status ON policy_proposals (status, proposed_at);

-- ---------- access reviews ----------

-- scope: JSON {connectionId?, department?, minRisk?, grantedBeforeDays?} (all given must hold).
-- reviewers: JSON {kind: manager | owner | person, personId?}; fallback_reviewer: whoever reviews an item
-- nobody else may (no manager, the reviewer's own access).
-- on_unreviewed: what the due date does to items nobody decided: keep, revoke, or escalate (to
-- escalate_to, who has escalation_days more; what they leave undecided is then kept or revoked as
-- after_escalation says).
CREATE TABLE review_campaigns (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  reviewers TEXT NOT NULL,
  fallback_reviewer TEXT NOT NULL REFERENCES people (id),
  due_at TEXT NOT NULL,
  reminder_days TEXT NOT NULL DEFAULT '[]',
  on_unreviewed TEXT NOT NULL CHECK (on_unreviewed IN ('keep', 'revoke', 'escalate')),
  escalate_to TEXT REFERENCES people (id),
  escalation_days INTEGER,
  after_escalation TEXT CHECK (after_escalation IS NULL OR after_escalation IN ('keep', 'revoke')),
  -- open → (escalated) → closed; cancelled by an administrator.
  status TEXT NOT NULL CHECK (status IN ('open', 'escalated', 'closed', 'cancelled')),
  escalated_due_at TEXT,
  created_by TEXT NOT NULL REFERENCES people (id),
  created_at TEXT NOT NULL,
  closed_at TEXT
);
CREATE INDEX review_campaigns_status ON review_campaigns (status, due_at);

-- One item per assignment in scope: keep or revoke, with a comment. `outcome` says what happened:
-- kept | revoked (by a reviewer's decision) | auto-kept | auto-revoked (at the due date, undecided).
-- `escalated`: 1 once moved to the escalation reviewer. `revocation`: JSON {taskIds, requestIds} of
-- the jobs or tasks that take it out.
CREATE TABLE review_items (
  id TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL REFERENCES review_campaigns (id),
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  person_id TEXT NOT NULL REFERENCES people (id),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  assignment_id TEXT NOT NULL REFERENCES assignments (id),
  bundle_id TEXT,
  permission_key TEXT,
  keys TEXT NOT NULL,
  risk TEXT NOT NULL CHECK (risk IN ('low', 'medium', 'high', 'critical')),
  granted_at TEXT NOT NULL,
  decision TEXT CHECK (decision IS NULL OR decision IN ('keep', 'revoke')),
  comment TEXT,
  decided_by TEXT REFERENCES people (id),
  decided_at TEXT,
  outcome TEXT CHECK (outcome IS NULL OR outcome IN ('kept', 'revoked', 'auto-kept', 'auto-revoked')),
  escalated INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1)),
  revocation TEXT,
  updated_at TEXT NOT NULL,
  UNIQUE (campaign_id, assignment_id)
);
CREATE INDEX review_items_campaign ON review_items (campaign_id, decision);

-- Who may decide an item (a manager, each member of an owner group, a named person).
CREATE TABLE review_item_reviewers (
  item_id TEXT NOT NULL REFERENCES review_items (id),
  person_id TEXT NOT NULL REFERENCES people (id),
  PRIMARY KEY (item_id, person_id)
);
CREATE INDEX review_item_reviewers_person ON review_item_reviewers (person_id, item_id);

-- Access the console took out (a review's revoke, a licence seat reclaimed): a request's grant goes
-- through that request's revoke job or task (request_ids); access no request granted through an admin
-- task (task_id), and once that task is done its assignments are recorded as revoked (settled_at).
-- origin_kind: review | licence; origin_id: the review item or the licence.
CREATE TABLE console_revocations (
  id TEXT PRIMARY KEY,
  origin_kind TEXT NOT NULL CHECK (origin_kind IN ('review', 'licence')),
  origin_id TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  assignment_ids TEXT NOT NULL,
  task_id TEXT REFERENCES admin_tasks (id),
  request_ids TEXT NOT NULL DEFAULT '[]',
  created_by TEXT REFERENCES people (id),
  created_at TEXT NOT NULL,
  settled_at TEXT
);
CREATE INDEX console_revocations_origin ON console_revocations (origin_kind, origin_id);
CREATE INDEX console_revocations_account ON console_revocations (account_id);
CREATE INDEX console_revocations_open ON console_revocations (settled_at) WHERE settled_at IS NULL;

-- ---------- notices: reminders for administrators and reviewers ----------

CREATE TABLE notices (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id),
  kind TEXT NOT NULL,
  -- JSON: what the notice is about (licence, campaign, counts, dates); clients word it.
  data TEXT NOT NULL,
  created_at TEXT NOT NULL,
  read_at TEXT
);
CREATE INDEX notices_person ON notices (person_id, created_at);

-- ---------- one durable schedule ----------

-- Work due at a time: a campaign's due date and reminders, a licence's term-end reminders (60, 30, 7
-- days), the day's findings counts. (kind, subject) is unique, so planning twice never doubles work; a
-- process claims a due row atomically with a lease and does its work in the same transaction that
-- marks it done, so with several processes on one database each runs exactly once.
CREATE TABLE console_schedule (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  due_at TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'cancelled')),
  lease_owner TEXT,
  lease_until TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TEXT NOT NULL,
  done_at TEXT,
  UNIQUE (kind, subject)
);
CREATE INDEX console_schedule_due ON console_schedule (state, due_at);
