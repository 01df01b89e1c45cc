-- When each CRM connection's last import succeeded (issue 7, "check on the page that it works"): synced to
-- every extension with the connection, so the overlay can say how old AccessLens's record is when the CRM's
-- live answer differs from it ("last import 2 hours ago"). Filled from the last good run for existing rows.
ALTER TABLE crm_connections ADD COLUMN last_import_at TEXT;
UPDATE crm_connections SET last_import_at = (
  SELECT r.finished_at FROM connection_state s JOIN import_runs r ON r.id = s.last_good_run_id WHERE s.connection_id = crm_connections.id
);
