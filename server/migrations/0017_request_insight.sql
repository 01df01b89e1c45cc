-- What helps an approver decide, worked out at submission (issue 8): the highest risk among the request's
-- keys, the separation-of-duties rules it would break, and how the requester's peers hold each key. JSON
-- (shared `requestInsight`); NULL for requests submitted before this migration.
ALTER TABLE requests ADD COLUMN insight TEXT;
