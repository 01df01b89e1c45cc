-- AccessLens schema v2: versioned policy, approver groups, licenses, catalog metadata the policy
-- engine needs, usage aggregates, multi-approver stages, accepted risks and persisted findings.
--
-- Works on a database created by 0001 with data in it: new columns are backfilled, and a database
-- that already has a CRM connection gets a default policy (version 1: every requestable key goes to
-- the requester's manager, escalating to the AccessLens administrators). A fresh database gets its
-- policy from the seed (or an admin's first PUT /api/policy).

-- ---------- directory ----------

-- Named sets of approvers ("Deal Desk", "Salesforce Admins"): stages of kind `group` and
-- catalog owners of type `group` point here.
CREATE TABLE approver_groups (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  member_ids TEXT NOT NULL DEFAULT '[]',
  version INTEGER NOT NULL
);
CREATE INDEX approver_groups_version ON approver_groups (version);

-- When the account was created in the CRM: unused access is judged only for accounts that existed
-- for the whole tracking window.
ALTER TABLE crm_accounts ADD COLUMN created_at TEXT;
UPDATE crm_accounts SET created_at = COALESCE(
  (SELECT MIN(a.granted_at) FROM assignments a WHERE a.account_id = crm_accounts.id),
  (SELECT CASE WHEN length(p.hire_date) = 10 THEN p.hire_date || 'T00:00:00.000Z' ELSE p.hire_date END
     FROM people p WHERE p.id = crm_accounts.person_id),
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
CREATE INDEX crm_accounts_version ON crm_accounts (version);
CREATE INDEX assignments_version ON assignments (version);
CREATE INDEX people_department ON people (department);

-- ---------- permission model ----------

CREATE TABLE licenses (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  name TEXT NOT NULL,
  seats INTEGER NOT NULL CHECK (seats >= 0),
  version INTEGER NOT NULL
);
CREATE INDEX licenses_version ON licenses (version);

-- owner: JSON ApproverRef ({"type":"person","personId"} or {"type":"group","groupId"}), null = nobody
-- named; supersedes owner_id (kept for old readers, backfilled into owner here).
ALTER TABLE permission_catalog ADD COLUMN owner TEXT;
ALTER TABLE permission_catalog ADD COLUMN license_id TEXT REFERENCES licenses (id);
ALTER TABLE permission_catalog ADD COLUMN required_trainings TEXT NOT NULL DEFAULT '[]';
UPDATE permission_catalog SET owner = json_object('type', 'person', 'personId', owner_id) WHERE owner_id IS NOT NULL;

-- How often and how recently an account used a key over the tracking period.
CREATE TABLE usage_aggregates (
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  key TEXT NOT NULL,
  last_used_at TEXT NOT NULL,
  count INTEGER NOT NULL CHECK (count >= 0),
  version INTEGER NOT NULL,
  PRIMARY KEY (account_id, key)
);
CREATE INDEX usage_aggregates_version ON usage_aggregates (version);

-- ---------- requests: evidence links, several approvals per stage ----------

ALTER TABLE requests ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]';

-- One row per approver and stage (a stage may need several approvals); replaces `decisions`, whose
-- primary key allowed one decision per stage.
CREATE TABLE request_decisions (
  request_id TEXT NOT NULL REFERENCES requests (id),
  stage INTEGER NOT NULL,
  decider_id TEXT NOT NULL REFERENCES people (id),
  outcome TEXT NOT NULL CHECK (outcome IN ('approve', 'deny')),
  reason TEXT,
  duration_days INTEGER,
  decided_at TEXT NOT NULL,
  PRIMARY KEY (request_id, stage, decider_id)
);
INSERT INTO request_decisions (request_id, stage, decider_id, outcome, reason, duration_days, decided_at)
  SELECT request_id, position, decider_id, outcome, reason, duration_days, decided_at FROM decisions;
DROP TABLE decisions;

-- ---------- policy ----------

-- Every change is a new row; the current policy is the highest version. `document` is the policy
-- (shared/src/policy-schema.ts) without its version.
CREATE TABLE policy_versions (
  version INTEGER PRIMARY KEY CHECK (version > 0),
  document TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT REFERENCES people (id),
  note TEXT NOT NULL DEFAULT ''
);

-- ---------- findings ----------

-- An accepted risk: the finding stays accepted until expires_at, or until revoked (reopened).
CREATE TABLE finding_acceptances (
  finding_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  accepted_by TEXT NOT NULL REFERENCES people (id),
  accepted_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT,
  revoked_by TEXT REFERENCES people (id),
  version INTEGER NOT NULL
);
CREATE INDEX finding_acceptances_version ON finding_acceptances (version);

-- The engine's findings, persisted. Derived data: rows are written by whichever server process
-- recomputed them, guarded by basis_version (the meta.version the computation reflected) so a process
-- that is behind never overwrites a newer result.
CREATE TABLE findings (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('beyond-baseline', 'sod-conflict', 'high-risk', 'super-admin', 'unused',
    'dormant', 'peer-outlier', 'inactive-person', 'expired-grant')),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  person_id TEXT NOT NULL REFERENCES people (id),
  severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  -- 0 low … 3 critical: lets "severity desc, id" be one index walk.
  severity_rank INTEGER NOT NULL CHECK (severity_rank BETWEEN 0 AND 3),
  keys TEXT NOT NULL,
  bundle_ids TEXT NOT NULL,
  evidence TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'remediated')),
  -- 1 when an accepted risk expired and the finding is open again.
  reopened INTEGER NOT NULL DEFAULT 0 CHECK (reopened IN (0, 1)),
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  resolved_at TEXT,
  updated_at TEXT NOT NULL,
  basis_version INTEGER NOT NULL
);
CREATE INDEX findings_status_order ON findings (status, severity_rank DESC, id);
CREATE INDEX findings_kind ON findings (kind, status, severity_rank DESC, id);
CREATE INDEX findings_person ON findings (person_id, status);
CREATE INDEX findings_connection ON findings (connection_id, status, severity_rank DESC, id);

-- ---------- defaults for a database that already holds an organisation ----------

INSERT INTO approver_groups (id, name, member_ids, version)
SELECT 'grp-admins', 'AccessLens administrators',
  (SELECT json_group_array(id) FROM (
     SELECT p.id FROM people p WHERE EXISTS (SELECT 1 FROM json_each(p.roles) WHERE value = 'admin') ORDER BY p.id)),
  (SELECT version FROM meta WHERE id = 1)
WHERE EXISTS (SELECT 1 FROM crm_connections);

INSERT INTO policy_versions (version, document, created_at, created_by, note)
SELECT 1,
  json_object(
    'baselines', json('[]'),
    'sodRules', json('[]'),
    'requestRules', (SELECT json_group_array(json(rule)) FROM (
      SELECT json_object(
        'id', 'default-' || c.id,
        'connectionId', c.id,
        'name', 'Manager approval',
        'match', json('{}'),
        'requestable', json('true'),
        'stages', json('[{"kind":"manager","mode":{"type":"any"},"label":"Manager"}]'),
        'fallback', json('[{"kind":"group","groupId":"grp-admins"}]'),
        'autoApprove', json('null'),
        'defaultDurationDays', 30,
        'maxDurationDays', 90,
        'prerequisites', json('{}'),
        'justificationRequired', json('true'),
        'evidenceRequired', json('false')) AS rule
      FROM crm_connections c ORDER BY c.id)),
    'adminFunctions', json('[]'),
    'thresholds', json('{"unusedDays":90,"dormantDays":30,"peerOutlierShare":0.1,"minPeerGroup":5}')),
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
  NULL,
  'Default policy created by migration 0002: manager approval for every requestable permission.'
WHERE EXISTS (SELECT 1 FROM crm_connections);
