-- AccessLens schema v9: hardening (issue 10).
--
-- 1. Audit events are append-only in the database itself: UPDATE and DELETE are refused.
-- 2. Signed checkpoints of the audit chain (server/src/audit-checkpoint.ts): the head (count and hash of
--    the newest event) is re-signed in every write that appends events, and a checkpoint row is kept at
--    most hourly. They are authenticated with a key derived from the secret key, which is kept outside
--    the database, so deleting the newest events, every event, or editing one and recomputing the
--    chain no longer verifies.
-- 3. `meta.auth_epoch` moves whenever a session ends or a person's status or roles change: server
--    processes that keep validated sessions in memory drop them when it moves.
-- 4. `sync_pokes`: whose slice a write changed, so that other server processes on the same database
--    poke their own event streams too (server/src/sync/feed.ts).
-- 5. `server_processes` (who is running on this database) and `backup_schedule` (server/src/backup.ts).

CREATE TRIGGER audit_events_refuse_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused');
END;

CREATE TRIGGER audit_events_refuse_delete BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused');
END;

-- The signed head: one row, rewritten with every write that appends audit events.
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  -- Events in the chain (= seq of the newest) and the newest event's hash.
  count INTEGER NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL,
  -- Fingerprint of the secret key the MAC was made with (secrets.ts keyIdOf); null = never signed.
  key_id TEXT,
  mac TEXT
);
-- Unsigned until a process holding the key writes (or adopts the existing chain at start-up).
INSERT INTO audit_head (id, count, hash, at)
VALUES (
  1,
  (SELECT COUNT(*) FROM audit_events),
  COALESCE((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), '0000000000000000000000000000000000000000000000000000000000000000'),
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
);

-- Signed checkpoints kept over time (at most one an hour): append-only as the events are.
CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  count INTEGER NOT NULL,
  hash TEXT NOT NULL,
  at TEXT NOT NULL,
  key_id TEXT NOT NULL,
  mac TEXT NOT NULL
);

CREATE TRIGGER audit_checkpoints_refuse_update BEFORE UPDATE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'audit checkpoints are append-only: UPDATE refused');
END;

CREATE TRIGGER audit_checkpoints_refuse_delete BEFORE DELETE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'audit checkpoints are append-only: DELETE refused');
END;

ALTER TABLE meta ADD COLUMN auth_epoch INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER sessions_end_moves_auth_epoch AFTER DELETE ON sessions
BEGIN
  UPDATE meta SET auth_epoch = auth_epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER people_access_change_moves_auth_epoch AFTER UPDATE OF status, roles ON people
WHEN OLD.status IS NOT NEW.status OR OLD.roles IS NOT NEW.roles
BEGIN
  UPDATE meta SET auth_epoch = auth_epoch + 1 WHERE id = 1;
END;

CREATE TABLE sync_pokes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  -- '*' = everyone (a write that changed what every person sees, e.g. page rules).
  person_id TEXT NOT NULL,
  -- The process that wrote it: it poked its own streams already.
  origin TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX sync_pokes_at ON sync_pokes (at);

-- Running server processes, each seen a few seconds ago at most (server/src/processes.ts): a restore
-- refuses to replace a database a server is using.
CREATE TABLE server_processes (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  url TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
);

-- Scheduled backups (ACCESSLENS_BACKUP_DIR): when the next one is due. A process takes it by moving
-- next_at forward in one UPDATE, so with several processes each backup is made once.
CREATE TABLE backup_schedule (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  next_at INTEGER NOT NULL,
  last_file TEXT,
  last_at INTEGER,
  last_error TEXT
);
