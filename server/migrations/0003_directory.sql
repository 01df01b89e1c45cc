-- AccessLens schema v3: the directory as admins, CSV files and identity providers (SCIM) keep it.
--
-- Works on a database created by 0001–0002 with data in it: new columns are nullable or defaulted, and
-- every person's completed trainings are copied into training_completions (dated at migration time).

-- ---------- people ----------

-- When the row was created and last changed (SCIM `meta.created` / `meta.lastModified`, the console).
ALTER TABLE people ADD COLUMN created_at TEXT;
ALTER TABLE people ADD COLUMN updated_at TEXT;
-- The identity provider's own identifiers: SCIM `userName` when it differs from the email (e.g. an Entra
-- ID userPrincipalName; NULL = the email is the userName) and `externalId` (the provider's id).
ALTER TABLE people ADD COLUMN scim_user_name TEXT;
ALTER TABLE people ADD COLUMN external_id TEXT;
-- The name parts a provider sent ({"givenName", "familyName", "formatted"}), returned as sent: people.name
-- is what AccessLens shows.
ALTER TABLE people ADD COLUMN scim_name TEXT;
CREATE UNIQUE INDEX people_scim_user_name ON people (scim_user_name COLLATE NOCASE) WHERE scim_user_name IS NOT NULL;
CREATE INDEX people_external_id ON people (external_id) WHERE external_id IS NOT NULL;

-- ---------- trainings ----------

-- What trainings exist. `id` is the name policies and CSV files use (`security-awareness-2025`);
-- a training first seen in a CSV file or a person update is created with its id as its title.
CREATE TABLE trainings (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- Who completed what, and when (YYYY-MM-DD). people.trainings stays the list the policy engine reads;
-- every write keeps the two in step.
CREATE TABLE training_completions (
  person_id TEXT NOT NULL REFERENCES people (id),
  training_id TEXT NOT NULL REFERENCES trainings (id),
  completed_on TEXT NOT NULL,
  PRIMARY KEY (person_id, training_id)
);
CREATE INDEX training_completions_training ON training_completions (training_id, person_id);

INSERT OR IGNORE INTO trainings (id, title, created_at)
  SELECT DISTINCT j.value, j.value, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM people p, json_each(p.trainings) j;
INSERT OR IGNORE INTO training_completions (person_id, training_id, completed_on)
  SELECT p.id, j.value, strftime('%Y-%m-%d', 'now') FROM people p, json_each(p.trainings) j;

-- ---------- approver groups (also SCIM Groups) ----------

ALTER TABLE approver_groups ADD COLUMN external_id TEXT;
ALTER TABLE approver_groups ADD COLUMN created_at TEXT;
ALTER TABLE approver_groups ADD COLUMN updated_at TEXT;
-- Deleting a group keeps its row (with a new version, so every server process's findings engine notices);
-- nothing reads a deleted group.
ALTER TABLE approver_groups ADD COLUMN deleted_at TEXT;

-- ---------- licences ----------

-- license_type: user (a per-user CRM licence: Salesforce user licence, Dynamics licence), permission-set
-- (Salesforce permission-set licence), seat (HubSpot paid seat), module (a per-module add-on).
-- term_end_date: YYYY-MM-DD, NULL = no end date known.
ALTER TABLE licenses ADD COLUMN license_type TEXT NOT NULL DEFAULT 'user'
  CHECK (license_type IN ('user', 'permission-set', 'seat', 'module'));
ALTER TABLE licenses ADD COLUMN term_end_date TEXT;
-- As for approver groups: a deleted licence keeps its row, versioned, and is read by nothing.
ALTER TABLE licenses ADD COLUMN deleted_at TEXT;

-- ---------- SCIM ----------

-- One bearer token per identity provider (named "okta", "entra"...). Only SHA-256 of the secret is
-- stored; the token is shown once when created. Revoked tokens stay for the audit trail.
CREATE TABLE scim_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT REFERENCES people (id),
  last_used_at TEXT,
  revoked_at TEXT,
  revoked_by TEXT REFERENCES people (id)
);

-- ---------- directory events (departures and moves) ----------

-- A durable record of every change of a person that should make their CRM access be looked at again,
-- written in the same transaction as the change (by the admin API, the CSV import and SCIM alike):
--   departed    status became `departed`;
--   deactivated status went from `active` to `suspended` (SCIM active=false);
--   moved       department, title or manager changed (and the status change, if any, was neither above).
-- `before` and `after` are JSON objects {status, department, title, managerId}. `source` says where the
-- change came from (api, csv, scim, cli) and `actor_id` who made it (NULL for an identity provider,
-- whose token name is in the audit event).
-- Consumers (the connectors' revocation planner) take unprocessed rows in id order and set
-- processed_at once they have planned the revocations, in the same transaction as that plan — the
-- `UPDATE … WHERE processed_at IS NULL` is the claim when several server processes share a database.
CREATE TABLE directory_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  person_id TEXT NOT NULL REFERENCES people (id),
  kind TEXT NOT NULL CHECK (kind IN ('deactivated', 'departed', 'moved')),
  before TEXT NOT NULL,
  after TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('api', 'csv', 'scim', 'cli')),
  actor_id TEXT REFERENCES people (id),
  at TEXT NOT NULL,
  processed_at TEXT
);
CREATE INDEX directory_events_unprocessed ON directory_events (id) WHERE processed_at IS NULL;
CREATE INDEX directory_events_person ON directory_events (person_id, id);
