-- AccessLens schema v5: CRM connectors. Connection settings and encrypted credentials, imports
-- scheduled from the database with a lease and visible progress, durable fulfilment jobs, admin
-- tasks, usage reports, and the finding "granted outside the request process".
--
-- Works on a database with data in it: existing connections become read-only connections with an
-- hourly schedule and no credentials (so nothing is imported until an administrator adds them).

-- ---------- connections ----------

-- tenant: which company's CRM, as its pages' URLs name it (the adapter's tenantOf: Salesforce My Domain
-- `acme`, Dynamics org name, HubSpot portal id, Zoho org id); the extension matches pages to a
-- connection by (kind, tenant). Null where URLs do not name it (Fxiaoke).
ALTER TABLE crm_connections ADD COLUMN tenant TEXT;
-- read-only: every grant and revocation becomes an admin task; provision: the connector applies them.
ALTER TABLE crm_connections ADD COLUMN mode TEXT NOT NULL DEFAULT 'read-only' CHECK (mode IN ('read-only', 'provision'));
-- For CRMs whose only way to grant is replacing a user's whole profile or role (Zoho, Fxiaoke):
-- the connector may do so only when an administrator turned this on.
ALTER TABLE crm_connections ADD COLUMN automatic_change INTEGER NOT NULL DEFAULT 0 CHECK (automatic_change IN (0, 1));
-- Minutes between scheduled imports; 0 = on demand only.
ALTER TABLE crm_connections ADD COLUMN schedule_minutes INTEGER NOT NULL DEFAULT 60 CHECK (schedule_minutes >= 0);
-- A deleted connection is disabled, never removed: its history stays.
ALTER TABLE crm_connections ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
ALTER TABLE crm_connections ADD COLUMN created_at TEXT;
ALTER TABLE crm_connections ADD COLUMN updated_at TEXT;
-- An existing Salesforce connection's My Domain is its first host's first label (`acme` of acme.lightning.force.com).
UPDATE crm_connections SET tenant = substr(json_extract(hosts, '$[0]'), 1, instr(json_extract(hosts, '$[0]'), '.') - 1)
  WHERE kind = 'salesforce' AND instr(coalesce(json_extract(hosts, '$[0]'), ''), '.') > 1;

-- Per connection, not synced to clients (so a lease or a schedule moving never bumps a sync version):
-- authorisation status, the import schedule and its lease, the connector's incremental position.
CREATE TABLE connection_state (
  connection_id TEXT PRIMARY KEY REFERENCES crm_connections (id),
  auth_status TEXT NOT NULL DEFAULT 'ok' CHECK (auth_status IN ('ok', 'needs-reauthorisation')),
  auth_error TEXT,
  auth_changed_at TEXT,
  -- null = no import scheduled (no credentials, disabled, or on demand only).
  next_import_at TEXT,
  -- The process running this connection's import, until lease_until (renewed while it runs).
  lease_owner TEXT,
  lease_until TEXT,
  -- The connector's position after the last good import (JSON), for the next incremental read.
  cursor TEXT,
  last_run_id TEXT,
  last_good_run_id TEXT
);
CREATE INDEX connection_state_due ON connection_state (next_import_at);
INSERT INTO connection_state (connection_id) SELECT id FROM crm_connections;

-- Credentials and OAuth tokens, AES-256-GCM encrypted (server/src/secrets.ts). Never returned by a route.
CREATE TABLE connection_secrets (
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  purpose TEXT NOT NULL CHECK (purpose IN ('credentials', 'token')),
  -- Which key encrypted it (a fingerprint, not the key): lets rotation and a wrong key be told apart.
  key_id TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  -- Tokens: when the CRM will stop accepting it (refreshed before).
  expires_at TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (connection_id, purpose)
);

-- ---------- imports ----------

CREATE TABLE import_runs (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'admin', 'cli')),
  requested_by TEXT REFERENCES people (id),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  -- users | bundles | assignments | applying, while running.
  phase TEXT,
  incremental INTEGER NOT NULL DEFAULT 0 CHECK (incremental IN (0, 1)),
  users_read INTEGER NOT NULL DEFAULT 0,
  bundles_read INTEGER NOT NULL DEFAULT 0,
  assignments_read INTEGER NOT NULL DEFAULT 0,
  -- Counts of what changed, by kind (JSON object).
  changes TEXT NOT NULL DEFAULT '{}',
  -- Problems that did not fail the import, e.g. CRM users matching no person (JSON array of strings).
  warnings TEXT NOT NULL DEFAULT '[]',
  -- Why it failed (null unless failed); the last good import stays in force.
  error TEXT,
  process_id TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  heartbeat_at TEXT,
  finished_at TEXT
);
CREATE INDEX import_runs_connection ON import_runs (connection_id, created_at);
CREATE INDEX import_runs_status ON import_runs (status);

-- CRM users whose email matches no person: kept so an administrator sees them, matched on a later
-- import once the directory knows them.
CREATE TABLE crm_unmatched_users (
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  external_user_id TEXT NOT NULL,
  username TEXT NOT NULL,
  email TEXT,
  active INTEGER NOT NULL CHECK (active IN (0, 1)),
  last_login_at TEXT,
  last_seen_at TEXT NOT NULL,
  PRIMARY KEY (connection_id, external_user_id)
);

-- The CRM's id of a bundle (Salesforce Profile, PermissionSet or PermissionSetGroup id) and of an
-- assignment (PermissionSetAssignment id): imports diff by them. A bundle gone from the CRM is
-- marked removed, never deleted.
ALTER TABLE bundles ADD COLUMN external_id TEXT;
ALTER TABLE bundles ADD COLUMN removed_at TEXT;
CREATE UNIQUE INDEX bundles_external ON bundles (connection_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE assignments ADD COLUMN external_id TEXT;
-- 1 = found in the CRM by an import after the connection's first import, with no request behind it.
ALTER TABLE assignments ADD COLUMN outside_process INTEGER NOT NULL DEFAULT 0 CHECK (outside_process IN (0, 1));
CREATE INDEX assignments_external ON assignments (external_id) WHERE external_id IS NOT NULL;

-- ---------- fulfilment ----------

-- The wire form of the request's fulfilment (shared `requestFulfilment`), null before approval.
ALTER TABLE requests ADD COLUMN fulfilment TEXT;

-- Durable jobs: taken by one process (lease + atomic claim), retried with backoff, applied once
-- (one job per idempotency key; the connector checks the CRM before writing).
CREATE TABLE fulfilment_jobs (
  id TEXT PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  request_id TEXT NOT NULL REFERENCES requests (id),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  action TEXT NOT NULL CHECK (action IN ('grant', 'revoke', 'verify')),
  -- JSON: the account, the bundles (or keys) to assign or remove, the grant's days.
  plan TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'task', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_run_at TEXT NOT NULL,
  lease_owner TEXT,
  lease_until TEXT,
  last_error TEXT,
  -- JSON: what the CRM holds afterwards (assignment ids), as confirmed by a re-read.
  result TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX fulfilment_jobs_due ON fulfilment_jobs (state, next_run_at);
CREATE INDEX fulfilment_jobs_request ON fulfilment_jobs (request_id);

-- Work for an administrator: a grant or revocation to make by hand (read-only connection, a CRM
-- without automatic change, no bundle grants the keys, or the connector gave up), or a grant the
-- requester reported as not working. Done when an administrator marks it, recording who.
CREATE TABLE admin_tasks (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('grant', 'revoke', 'problem')),
  request_id TEXT REFERENCES requests (id),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  job_id TEXT REFERENCES fulfilment_jobs (id),
  -- Why a person must act: a code (shared FULFILMENT_REASONS) and the English detail.
  reason_code TEXT NOT NULL,
  reason TEXT NOT NULL,
  -- JSON: account, bundles, keys, until; for a problem, what the page showed.
  details TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
  created_at TEXT NOT NULL,
  done_at TEXT,
  done_by TEXT REFERENCES people (id),
  note TEXT,
  version INTEGER NOT NULL
);
CREATE INDEX admin_tasks_status ON admin_tasks (status, created_at);
CREATE INDEX admin_tasks_request ON admin_tasks (request_id);

-- ---------- usage ----------

-- usage.report from the extension: per account, key and day, how many times (never what was seen).
CREATE TABLE usage_reports (
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  key TEXT NOT NULL,
  day TEXT NOT NULL,
  count INTEGER NOT NULL CHECK (count >= 0),
  PRIMARY KEY (account_id, key, day)
);

-- ---------- findings: a new kind ----------

CREATE TABLE findings_v5 (
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
  status TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'remediated')),
  reopened INTEGER NOT NULL DEFAULT 0 CHECK (reopened IN (0, 1)),
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  resolved_at TEXT,
  updated_at TEXT NOT NULL,
  basis_version INTEGER NOT NULL
);
INSERT INTO findings_v5 (id, kind, connection_id, account_id, person_id, severity, severity_rank, keys, bundle_ids, evidence,
    status, reopened, first_seen_at, last_seen_at, resolved_at, updated_at, basis_version)
  SELECT id, kind, connection_id, account_id, person_id, severity, severity_rank, keys, bundle_ids, evidence,
    status, reopened, first_seen_at, last_seen_at, resolved_at, updated_at, basis_version FROM findings;
DROP TABLE findings;
ALTER TABLE findings_v5 RENAME TO findings;
CREATE INDEX findings_status_order ON findings (status, severity_rank DESC, id);
CREATE INDEX findings_kind ON findings (kind, status, severity_rank DESC, id);
CREATE INDEX findings_person ON findings (person_id, status);
CREATE INDEX findings_connection ON findings (connection_id, status, severity_rank DESC, id);
