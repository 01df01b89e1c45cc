-- AccessLens schema v1.
--
-- Sync: every synced row carries `version`, taken from meta.version, which each write transaction
-- increments once. Writers are serialised, so a reader that sees meta.version = V has seen every row
-- with version <= V; "changed since cursor" is `version > ?` on an index.

CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  -- Random per database: a cursor from another database is recognised and answered with a reset.
  instance_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  organisation TEXT
);
INSERT INTO meta (id, instance_id, version) VALUES (1, lower(hex(randomblob(16))), 0);

CREATE TABLE people (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  department TEXT NOT NULL,
  title TEXT NOT NULL,
  manager_id TEXT REFERENCES people (id) DEFERRABLE INITIALLY DEFERRED,
  status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'departed')),
  roles TEXT NOT NULL DEFAULT '["requester"]',
  hire_date TEXT,
  trainings TEXT NOT NULL DEFAULT '[]',
  password_hash TEXT,
  -- Bumped when the set of rows this person may see changes in a way `version` cannot express
  -- (e.g. a new manager): any cursor older than this gets a reset.
  slice_version INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL
);
CREATE INDEX people_version ON people (version);
CREATE INDEX people_manager ON people (manager_id);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  secret_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  last_verified_at INTEGER NOT NULL
);
CREATE INDEX sessions_person ON sessions (person_id);

-- Failed sign-ins, for rate limiting across restarts and processes.
CREATE TABLE sign_in_attempts (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL,
  address TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX sign_in_attempts_email ON sign_in_attempts (email, at);
CREATE INDEX sign_in_attempts_address ON sign_in_attempts (address, at);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts (at);

CREATE TABLE crm_connections (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('salesforce', 'dynamics', 'hubspot', 'zoho', 'fxiaoke', 'generic')),
  name TEXT NOT NULL,
  hosts TEXT NOT NULL DEFAULT '[]',
  settings TEXT NOT NULL DEFAULT '{}',
  version INTEGER NOT NULL
);
CREATE INDEX crm_connections_version ON crm_connections (version);

CREATE TABLE crm_accounts (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  external_user_id TEXT NOT NULL,
  username TEXT NOT NULL,
  active INTEGER NOT NULL CHECK (active IN (0, 1)),
  last_login_at TEXT,
  version INTEGER NOT NULL,
  UNIQUE (connection_id, external_user_id)
);
CREATE INDEX crm_accounts_person ON crm_accounts (person_id, version);

CREATE TABLE permission_catalog (
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  key TEXT NOT NULL,
  label_en TEXT NOT NULL,
  label_zh_cn TEXT NOT NULL,
  risk TEXT NOT NULL CHECK (risk IN ('low', 'medium', 'high', 'critical')),
  max_duration_days INTEGER CHECK (max_duration_days IS NULL OR max_duration_days > 0),
  requestable INTEGER NOT NULL CHECK (requestable IN (0, 1)),
  owner_id TEXT REFERENCES people (id),
  version INTEGER NOT NULL,
  PRIMARY KEY (connection_id, key)
);
CREATE INDEX permission_catalog_version ON permission_catalog (version);

CREATE TABLE bundles (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  kind TEXT NOT NULL CHECK (kind IN ('profile', 'role', 'permissionSet', 'permissionSetGroup', 'securityRole', 'team')),
  name TEXT NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX bundles_version ON bundles (version);

CREATE TABLE bundle_includes (
  bundle_id TEXT NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
  included_id TEXT NOT NULL REFERENCES bundles (id),
  position INTEGER NOT NULL,
  PRIMARY KEY (bundle_id, included_id)
);

CREATE TABLE bundle_permissions (
  bundle_id TEXT NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (bundle_id, key)
);

CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  requester_id TEXT NOT NULL REFERENCES people (id),
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  permissions TEXT NOT NULL,
  page TEXT,
  justification TEXT NOT NULL,
  duration_days INTEGER NOT NULL CHECK (duration_days > 0),
  status TEXT NOT NULL CHECK (status IN ('pending', 'needs-info', 'approved', 'denied', 'cancelled', 'fulfilled', 'expired', 'revoked')),
  -- The wire form of the approval stages, decisions included; request_approvers indexes it.
  stages TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  decided_at TEXT,
  granted_at TEXT,
  expires_at TEXT,
  version INTEGER NOT NULL
);
CREATE INDEX requests_requester ON requests (requester_id, version);
CREATE INDEX requests_version ON requests (version);
CREATE INDEX requests_expiry ON requests (status, expires_at);

CREATE TABLE request_approvers (
  request_id TEXT NOT NULL REFERENCES requests (id),
  position INTEGER NOT NULL,
  person_id TEXT NOT NULL REFERENCES people (id),
  PRIMARY KEY (request_id, position, person_id)
);
CREATE INDEX request_approvers_person ON request_approvers (person_id, request_id);

CREATE TABLE decisions (
  request_id TEXT NOT NULL REFERENCES requests (id),
  position INTEGER NOT NULL,
  decider_id TEXT NOT NULL REFERENCES people (id),
  outcome TEXT NOT NULL CHECK (outcome IN ('approve', 'deny')),
  reason TEXT,
  duration_days INTEGER,
  decided_at TEXT NOT NULL,
  PRIMARY KEY (request_id, position)
);

CREATE TABLE assignments (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES crm_accounts (id),
  target_type TEXT NOT NULL CHECK (target_type IN ('bundle', 'permission')),
  bundle_id TEXT REFERENCES bundles (id),
  permission_key TEXT,
  source TEXT NOT NULL CHECK (source IN ('directory', 'request', 'baseline')),
  request_id TEXT REFERENCES requests (id),
  granted_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  version INTEGER NOT NULL,
  CHECK ((target_type = 'bundle' AND bundle_id IS NOT NULL AND permission_key IS NULL)
      OR (target_type = 'permission' AND permission_key IS NOT NULL AND bundle_id IS NULL))
);
CREATE INDEX assignments_account ON assignments (account_id, version);
CREATE INDEX assignments_request ON assignments (request_id);

-- At-most-once mutations: the client's id, stored in the transaction that applied it.
CREATE TABLE applied_mutations (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id),
  name TEXT NOT NULL,
  result TEXT NOT NULL,
  applied_at TEXT NOT NULL
);

-- Append-only and hash-chained: hash = sha256hex(prev_hash || canonical JSON of the event).
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor_id TEXT,
  action TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject_type, subject_id);
