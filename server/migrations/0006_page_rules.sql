-- AccessLens schema v6: admins' page rules and adapter kill switches, synced to every extension.
--
-- A page rule says how to read one kind of page of an in-house CRM (a `generic` connection), or
-- overrides a built-in adapter's checks for one connection's tenant. A kill switch pauses an adapter
-- (or one page kind of it) for extension versions below `fixed_in`. Both sync to everyone; sync never
-- deletes, so removing one marks it `deleted` (sent once more, then ignored by clients).

CREATE TABLE page_rules (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES crm_connections (id),
  host TEXT NOT NULL,
  protocol TEXT NOT NULL CHECK (protocol IN ('https', 'http')),
  path TEXT NOT NULL,
  hash TEXT,
  page_kind TEXT NOT NULL CHECK (page_kind IN ('record', 'record-edit', 'list', 'home', 'new', 'user-list', 'user-record', 'other')),
  -- JSON: {"group": name} | {"value": object name} | null
  object TEXT,
  record_id_group TEXT,
  denial_phrases TEXT NOT NULL DEFAULT '[]',
  priority INTEGER NOT NULL DEFAULT 100,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_by TEXT REFERENCES people (id),
  version INTEGER NOT NULL
);
CREATE INDEX page_rules_version ON page_rules (version);
CREATE INDEX page_rules_connection ON page_rules (connection_id);

CREATE TABLE kill_switches (
  id TEXT PRIMARY KEY,
  crm TEXT NOT NULL CHECK (crm IN ('salesforce', 'dynamics', 'hubspot', 'zoho', 'fxiaoke', 'generic')),
  page_kind TEXT CHECK (page_kind IS NULL OR page_kind IN ('record', 'record-edit', 'list', 'home', 'new', 'user-list', 'user-record', 'other')),
  fixed_in TEXT NOT NULL,
  reason TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_by TEXT REFERENCES people (id),
  version INTEGER NOT NULL
);
CREATE INDEX kill_switches_version ON kill_switches (version);
