-- AccessLens schema: the request lifecycle (issue 8). Bundle requests, access windows, requests filed by a
-- manager for a direct report, "request again" and "extend" links, a per-request timeline; out-of-office
-- delegation; a durable scheduler for reminders, escalation, time-outs, start dates and expiry reminders;
-- a durable notification outbox (email and organisation webhooks); a person's language.
--
-- Works on a database with data in it: every new column is nullable or defaulted.

-- ---------- requests ----------

-- A request for a whole bundle the CRM models (permission set, role…): its id; `permissions` then holds
-- the keys it adds beyond what the account held when it was requested.
ALTER TABLE requests ADD COLUMN bundle_id TEXT REFERENCES bundles (id);
-- The access window's start: the grant is applied then (not before), and lasts its days from then.
ALTER TABLE requests ADD COLUMN starts_at TEXT;
-- A manager filing for a direct report: the report is the requester of record (`requester_id`), the manager
-- the filer. Neither may approve it.
ALTER TABLE requests ADD COLUMN filed_by TEXT REFERENCES people (id);
-- "Request again": the denied request this one follows.
ALTER TABLE requests ADD COLUMN previous_request_id TEXT REFERENCES requests (id);
-- "Extend": the grant (a fulfilled request) this one extends.
ALTER TABLE requests ADD COLUMN extends_request_id TEXT REFERENCES requests (id);
-- The request rules that routed it (JSON array of ids): reminders and escalation read their settings.
ALTER TABLE requests ADD COLUMN rule_ids TEXT NOT NULL DEFAULT '[]';
-- What happened, in order (shared `timelineEntry`, JSON array): shown to the requester and approvers.
ALTER TABLE requests ADD COLUMN timeline TEXT NOT NULL DEFAULT '[]';
-- The open question while `needs-info` (JSON {askedBy, askedAt, question, stage}), else NULL.
ALTER TABLE requests ADD COLUMN needs_info TEXT;
-- The expiresAt an expiry reminder was last sent for: the claim that makes it go once per end date.
ALTER TABLE requests ADD COLUMN expiry_reminded_for TEXT;
CREATE INDEX requests_filed_by ON requests (filed_by, version) WHERE filed_by IS NOT NULL;
CREATE INDEX requests_previous ON requests (previous_request_id) WHERE previous_request_id IS NOT NULL;
CREATE INDEX requests_extends ON requests (extends_request_id) WHERE extends_request_id IS NOT NULL;

-- ---------- people ----------

-- The language messages to this person are written in ('en' | 'zh-CN'); NULL = not set (English, unless
-- the directory says otherwise).
ALTER TABLE people ADD COLUMN language TEXT CHECK (language IS NULL OR language IN ('en', 'zh-CN'));

-- ---------- delegation ----------

-- An approver out of office names a delegate for a period: stages that open (or are waiting on them) during
-- it go to the delegate instead. Ended early by setting ended_at; never deleted (audit).
CREATE TABLE approver_delegations (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES people (id),
  delegate_id TEXT NOT NULL REFERENCES people (id),
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL REFERENCES people (id),
  ended_at TEXT,
  ended_by TEXT REFERENCES people (id),
  CHECK (person_id <> delegate_id),
  CHECK (ends_at > starts_at)
);
CREATE INDEX approver_delegations_person ON approver_delegations (person_id, starts_at);

-- ---------- scheduled work ----------

-- General scheduled work, found in the database (survives restarts) and claimed atomically there (one
-- owner when several server processes share it). One row per (kind, subject): rescheduling moves due_at.
-- Kinds: request.timer (reminders, escalation, time-out of the open stage), grant.start (an access
-- window's start), delegation.start (an out-of-office period begins).
CREATE TABLE scheduled_work (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  due_at TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (kind, subject_id)
);
CREATE INDEX scheduled_work_due ON scheduled_work (state, due_at);

-- ---------- notifications ----------

-- Organisation webhooks: Slack, Microsoft Teams, Feishu/Lark, DingTalk, WeCom. The URL and the signing
-- secret are encrypted (server/src/secrets.ts) and never returned by a route.
CREATE TABLE notification_webhooks (
  id TEXT PRIMARY KEY,
  platform TEXT NOT NULL CHECK (platform IN ('slack', 'teams', 'feishu', 'dingtalk', 'wecom')),
  name TEXT NOT NULL,
  key_id TEXT NOT NULL,
  url_ciphertext TEXT NOT NULL,
  -- Where the message goes, without its secret parts (shown to administrators).
  url_hint TEXT NOT NULL,
  secret_ciphertext TEXT,
  -- Which events it receives (JSON array of shared NOTIFICATION_EVENTS).
  events TEXT NOT NULL,
  language TEXT NOT NULL CHECK (language IN ('en', 'zh-CN')),
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at TEXT NOT NULL,
  created_by TEXT REFERENCES people (id),
  updated_at TEXT NOT NULL,
  deleted_at TEXT
);

-- The outbox: one row per event and recipient (a person's email, or a webhook), written in the same
-- transaction as the event. The UNIQUE key makes it exactly one per recipient and event; a process claims a
-- due row with a lease before sending, and marks it sent only while it still holds the lease.
CREATE TABLE notification_outbox (
  id TEXT PRIMARY KEY,
  event_key TEXT NOT NULL,
  event TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
  -- email: the person's id; webhook: the webhook's id.
  recipient TEXT NOT NULL,
  request_id TEXT REFERENCES requests (id),
  -- JSON: what the message says (who, which permissions, why) — never CRM record contents.
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  lease_owner TEXT,
  lease_until TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT,
  UNIQUE (event_key, channel, recipient)
);
CREATE INDEX notification_outbox_due ON notification_outbox (state, next_attempt_at);
CREATE INDEX notification_outbox_request ON notification_outbox (request_id);
