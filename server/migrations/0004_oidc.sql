-- Single sign-on with OpenID Connect (authorization code + PKCE).

-- One row per started sign-in, until it is finished (the row is deleted: single use) or expires.
-- In the database rather than in memory so that any server process sharing it can finish a flow
-- another one started.
CREATE TABLE oidc_flows (
  state TEXT PRIMARY KEY,
  nonce TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  -- The extension's redirect URI the flow was started for; the callback must come back to it.
  redirect_uri TEXT NOT NULL,
  -- The provider the flow was started with (a changed configuration refuses older flows).
  issuer TEXT NOT NULL,
  -- Client address that started it: caps how many open flows one client may hold.
  address TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
CREATE INDEX oidc_flows_address ON oidc_flows (address, expires_at);

-- A person's account at an identity provider: (issuer, sub) is stable where the email may change, so
-- a person linked once is found again by `sub` after the provider renames their email.
CREATE TABLE oidc_identities (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  -- The email the provider gave at the last sign-in.
  email TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  last_sign_in_at INTEGER NOT NULL,
  PRIMARY KEY (issuer, subject),
  UNIQUE (issuer, person_id)
);
