/**
 * CRM connections as stored: settings, state, credentials (encrypted, write-only) and OAuth tokens,
 * and opening a connector on one of them for a piece of work.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectionCreateBody, ConnectionView, CrmKind, FulfilmentReason, ImportRunView } from '@accesslens/shared';
import type { Row } from '@libsql/client';
import type { z } from 'zod';
import type { Db, Transaction } from '../db.ts';
import { ApiFailure } from '../errors.ts';
import { readBatch, type Source } from '../policy/load.ts';
import { secretContext, type SecretBox } from '../secrets.ts';
import type { Notifier } from '../notifier.ts';
import { runWrite } from '../write.ts';
import { CrmHttp, type TokenSource } from './http.ts';
import { connectorFor } from './registry.ts';
import { signalWork } from './signal.ts';
import { CrmError, type ConnectionConfig, type ConnectorDefinition, type CrmClient, type StoredToken, type TokenStore } from './types.ts';

const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export interface ConnectionRecord {
  id: string;
  kind: CrmKind;
  name: string;
  hosts: string[];
  tenant: string | null;
  mode: 'read-only' | 'provision';
  automaticChange: boolean;
  scheduleMinutes: number;
  enabled: boolean;
  settings: Record<string, unknown>;
  createdAt: string | null;
  updatedAt: string | null;
  credentialsUpdatedAt: string | null;
  authStatus: 'ok' | 'needs-reauthorisation';
  authError: string | null;
  nextImportAt: string | null;
  leaseOwner: string | null;
  leaseUntil: string | null;
  cursor: unknown;
  lastRunId: string | null;
  lastGoodRunId: string | null;
}

export const CONNECTION_RECORD_SQL = `SELECT c.id, c.kind, c.name, c.hosts, c.tenant, c.mode, c.automatic_change, c.schedule_minutes, c.enabled,
    c.settings, c.created_at, c.updated_at, s.auth_status, s.auth_error, s.next_import_at, s.lease_owner, s.lease_until, s.cursor,
    s.last_run_id, s.last_good_run_id,
    (SELECT x.updated_at FROM connection_secrets x WHERE x.connection_id = c.id AND x.purpose = 'credentials') AS credentials_updated_at
  FROM crm_connections c LEFT JOIN connection_state s ON s.connection_id = c.id`;

export function connectionRecordFromRow(r: Row): ConnectionRecord {
  return {
    id: String(r.id),
    kind: String(r.kind) as CrmKind,
    name: String(r.name),
    hosts: json<string[]>(r.hosts),
    tenant: strOrNull(r.tenant),
    mode: String(r.mode) as ConnectionRecord['mode'],
    automaticChange: Number(r.automatic_change) === 1,
    scheduleMinutes: Number(r.schedule_minutes),
    enabled: Number(r.enabled) === 1,
    settings: json<Record<string, unknown>>(r.settings),
    createdAt: strOrNull(r.created_at),
    updatedAt: strOrNull(r.updated_at),
    credentialsUpdatedAt: strOrNull(r.credentials_updated_at),
    authStatus: (strOrNull(r.auth_status) ?? 'ok') as ConnectionRecord['authStatus'],
    authError: strOrNull(r.auth_error),
    nextImportAt: strOrNull(r.next_import_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseUntil: strOrNull(r.lease_until),
    cursor: r.cursor === null || r.cursor === undefined ? null : json<unknown>(r.cursor),
    lastRunId: strOrNull(r.last_run_id),
    lastGoodRunId: strOrNull(r.last_good_run_id),
  };
}

export async function loadConnection(source: Source, id: string): Promise<ConnectionRecord | null> {
  const [r] = await readBatch(source, [{ sql: `${CONNECTION_RECORD_SQL} WHERE c.id = ?`, args: [id] }]);
  const row = r!.rows[0];
  return row ? connectionRecordFromRow(row) : null;
}

export async function listConnections(source: Source): Promise<ConnectionRecord[]> {
  const [r] = await readBatch(source, [`${CONNECTION_RECORD_SQL} ORDER BY c.id`]);
  return r!.rows.map(connectionRecordFromRow);
}

/** Creates the state row of a connection that has none yet (connections made before migration 0005 have one). */
export async function ensureState(tx: Transaction, connectionId: string): Promise<void> {
  await tx.execute({ sql: 'INSERT OR IGNORE INTO connection_state (connection_id) VALUES (?)', args: [connectionId] });
}

// ---------- import runs ----------

export const IMPORT_RUN_COLUMNS = `r.id, r.connection_id, r.trigger, r.requested_by, r.status, r.phase, r.incremental, r.users_read, r.bundles_read,
  r.assignments_read, r.changes, r.warnings, r.error, r.created_at, r.started_at, r.heartbeat_at, r.finished_at`;

export function importRunFromRow(r: Row): ImportRunView {
  return {
    id: String(r.id),
    connectionId: String(r.connection_id),
    trigger: String(r.trigger) as ImportRunView['trigger'],
    requestedBy: strOrNull(r.requested_by),
    status: String(r.status) as ImportRunView['status'],
    phase: strOrNull(r.phase) as ImportRunView['phase'],
    incremental: Number(r.incremental) === 1,
    read: { users: Number(r.users_read), bundles: Number(r.bundles_read), assignments: Number(r.assignments_read) },
    changes: json<Record<string, number>>(r.changes),
    warnings: json<string[]>(r.warnings),
    error: strOrNull(r.error),
    createdAt: String(r.created_at),
    startedAt: strOrNull(r.started_at),
    heartbeatAt: strOrNull(r.heartbeat_at),
    finishedAt: strOrNull(r.finished_at),
  };
}

export async function loadImportRun(source: Source, id: string): Promise<ImportRunView | null> {
  const [r] = await readBatch(source, [{ sql: `SELECT ${IMPORT_RUN_COLUMNS} FROM import_runs r WHERE r.id = ?`, args: [id] }]);
  const row = r!.rows[0];
  return row ? importRunFromRow(row) : null;
}

/** The wire view: never the credentials, only whether they are set. */
export async function connectionView(source: Source, c: ConnectionRecord): Promise<ConnectionView> {
  const ids = [c.lastRunId, c.lastGoodRunId].filter((x): x is string => x !== null);
  const runs = new Map<string, ImportRunView>();
  if (ids.length > 0) {
    const [r] = await readBatch(source, [
      { sql: `SELECT ${IMPORT_RUN_COLUMNS} FROM import_runs r WHERE r.id IN (${ids.map(() => '?').join(', ')})`, args: ids },
    ]);
    for (const row of r!.rows) runs.set(String(row.id), importRunFromRow(row));
  }
  const definition = connectorFor(c.kind);
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    hosts: c.hosts,
    tenant: c.tenant,
    mode: c.mode,
    automaticChange: c.automaticChange,
    scheduleMinutes: c.scheduleMinutes,
    enabled: c.enabled,
    settings: c.settings,
    credentials: c.credentialsUpdatedAt ? 'set' : 'not set',
    credentialsUpdatedAt: c.credentialsUpdatedAt,
    authStatus: c.authStatus,
    authError: c.authError,
    canProvision: definition?.canProvision ?? false,
    nextImportAt: c.nextImportAt,
    lastImport: c.lastRunId ? (runs.get(c.lastRunId) ?? null) : null,
    lastGoodImport: c.lastGoodRunId ? (runs.get(c.lastGoodRunId) ?? null) : null,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

// ---------- kind-specific validation ----------

function failField(error: z.ZodError, prefix: string): ApiFailure {
  const issue = error.issues[0];
  const field = [prefix, ...(issue?.path ?? []).map(String)].join('.');
  return new ApiFailure(400, 'invalid_input', `${field}: ${issue?.message ?? 'is invalid'}`, field);
}

/** Validates settings (and credentials, when given) with the kind's connector; 400 naming the field. */
export function validateForKind(
  kind: CrmKind,
  settings: Record<string, unknown>,
  credentials: Record<string, unknown> | null,
): { settings: Record<string, unknown>; credentials: Record<string, unknown> | null } {
  const definition = connectorFor(kind);
  if (!definition) return { settings, credentials };
  const s = definition.settingsSchema.safeParse(settings);
  if (!s.success) throw failField(s.error, 'settings');
  let c: Record<string, unknown> | null = null;
  if (credentials !== null) {
    const parsed = definition.credentialsSchema.safeParse(credentials);
    if (!parsed.success) throw failField(parsed.error, 'credentials');
    c = parsed.data as Record<string, unknown>;
  }
  return { settings: s.data as Record<string, unknown>, credentials: c };
}

// ---------- creating ----------

/**
 * Creates a connection (admin API and CLI): validated for its kind (400 naming the field), credentials
 * encrypted, audited; with credentials and a schedule its first import is due at once. Returns its id.
 */
export async function createConnection(
  db: Db,
  box: SecretBox,
  body: ConnectionCreateBody,
  context: { actorId: string | null; now: Date; notifier?: Notifier; via?: string },
): Promise<string> {
  const { settings, credentials } = validateForKind(body.kind, body.settings, body.credentials);
  const connectionId = body.id ?? `${body.kind}-${randomUUID().slice(0, 8)}`;
  await runWrite(
    db,
    context.now,
    async (w) => {
      const exists = await w.tx.execute({ sql: 'SELECT 1 FROM crm_connections WHERE id = ?', args: [connectionId] });
      if (exists.rows[0]) throw ApiFailure.of(409, 'conflict', 'connection_id_taken', { connectionId }, { field: 'id' });
      await w.tx.execute({
        sql: `INSERT INTO crm_connections (id, kind, name, hosts, settings, tenant, mode, automatic_change, schedule_minutes, enabled, created_at, updated_at, version)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
        args: [
          connectionId,
          body.kind,
          body.name,
          JSON.stringify(body.hosts),
          JSON.stringify(settings),
          body.tenant,
          body.mode,
          body.automaticChange ? 1 : 0,
          body.scheduleMinutes,
          w.nowIso,
          w.nowIso,
          await w.version(),
        ],
      });
      await ensureState(w.tx, connectionId);
      if (credentials) {
        await storeCredentials(w.tx, box, connectionId, credentials, w.nowIso);
        if (body.scheduleMinutes > 0)
          await w.tx.execute({ sql: 'UPDATE connection_state SET next_import_at = ? WHERE connection_id = ?', args: [w.nowIso, connectionId] });
      }
      await w.audit({
        actorId: context.actorId,
        action: 'connection.created',
        subjectType: 'connection',
        subjectId: connectionId,
        data: {
          kind: body.kind,
          name: body.name,
          hosts: body.hosts,
          tenant: body.tenant,
          mode: body.mode,
          automaticChange: body.automaticChange,
          scheduleMinutes: body.scheduleMinutes,
          settings,
          credentials: credentials ? 'set' : 'not set',
          ...(context.via ? { via: context.via } : {}),
        },
      });
    },
    context.notifier,
  );
  signalWork();
  return connectionId;
}

// ---------- secrets ----------

export async function storeCredentials(
  tx: Transaction,
  box: SecretBox,
  connectionId: string,
  credentials: Record<string, unknown> | null,
  nowIso: string,
): Promise<void> {
  // New credentials invalidate any token issued for the old ones.
  await tx.execute({ sql: "DELETE FROM connection_secrets WHERE connection_id = ? AND purpose = 'token'", args: [connectionId] });
  if (credentials === null) {
    await tx.execute({ sql: "DELETE FROM connection_secrets WHERE connection_id = ? AND purpose = 'credentials'", args: [connectionId] });
    return;
  }
  const sealed = box.encrypt(JSON.stringify(credentials), secretContext(connectionId, 'credentials'));
  await tx.execute({
    sql: `INSERT INTO connection_secrets (connection_id, purpose, key_id, ciphertext, expires_at, updated_at) VALUES (?, 'credentials', ?, ?, NULL, ?)
          ON CONFLICT (connection_id, purpose) DO UPDATE SET key_id = excluded.key_id, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
    args: [connectionId, sealed.keyId, sealed.ciphertext, nowIso],
  });
}

export async function readCredentials(source: Source, box: SecretBox, connectionId: string): Promise<unknown | null> {
  const [r] = await readBatch(source, [
    { sql: "SELECT ciphertext FROM connection_secrets WHERE connection_id = ? AND purpose = 'credentials'", args: [connectionId] },
  ]);
  const row = r!.rows[0];
  return row ? JSON.parse(box.decrypt(String(row.ciphertext), secretContext(connectionId, 'credentials'))) : null;
}

/** The connection's OAuth token in the database, encrypted: every process shares it. */
export class DbTokenStore implements TokenStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly connectionId: string,
    private readonly now: () => Date,
  ) {}

  async get(): Promise<StoredToken | null> {
    const r = await this.db.execute("SELECT ciphertext FROM connection_secrets WHERE connection_id = ? AND purpose = 'token'", [this.connectionId]);
    const row = r.rows[0];
    if (!row) return null;
    try {
      return JSON.parse(this.box.decrypt(String(row.ciphertext), secretContext(this.connectionId, 'token'))) as StoredToken;
    } catch {
      return null; // an unreadable token is simply fetched again
    }
  }

  async set(token: StoredToken): Promise<void> {
    const sealed = this.box.encrypt(JSON.stringify(token), secretContext(this.connectionId, 'token'));
    await this.db.transaction(async (tx) => {
      await tx.execute({
        sql: `INSERT INTO connection_secrets (connection_id, purpose, key_id, ciphertext, expires_at, updated_at) VALUES (?, 'token', ?, ?, ?, ?)
              ON CONFLICT (connection_id, purpose) DO UPDATE SET key_id = excluded.key_id, ciphertext = excluded.ciphertext,
                expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
        args: [this.connectionId, sealed.keyId, sealed.ciphertext, token.expiresAt, this.now().toISOString()],
      });
    });
  }

  async clear(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute({ sql: "DELETE FROM connection_secrets WHERE connection_id = ? AND purpose = 'token'", args: [this.connectionId] });
    });
  }
}

// ---------- authorisation status ----------

/** The CRM refused the credentials even after a refresh: admins see it on the connection; audited once. */
export async function markNeedsReauthorisation(db: Db, connectionId: string, message: string, now: Date): Promise<void> {
  await runWrite(db, now, async (w) => {
    await ensureState(w.tx, connectionId);
    const r = await w.tx.execute({
      sql: `UPDATE connection_state SET auth_status = 'needs-reauthorisation', auth_error = ?, auth_changed_at = ?
            WHERE connection_id = ? AND auth_status <> 'needs-reauthorisation'`,
      args: [message, w.nowIso, connectionId],
    });
    if (r.rowsAffected > 0)
      await w.audit({ actorId: null, action: 'connection.needs_reauthorisation', subjectType: 'connection', subjectId: connectionId, data: { message } });
  });
}

export async function markAuthorised(tx: Transaction, connectionId: string, nowIso: string): Promise<void> {
  await tx.execute({
    sql: `UPDATE connection_state SET auth_status = 'ok', auth_error = NULL, auth_changed_at = ? WHERE connection_id = ? AND auth_status <> 'ok'`,
    args: [nowIso, connectionId],
  });
}

// ---------- opening a connector ----------

export interface OpenOptions {
  signal: AbortSignal;
  now: () => Date;
  /** Tests point connectors at loopback fakes with the real fetch; this replaces it when given. */
  fetch?: typeof fetch;
  /** The longest Retry-After waited inside one call (longer: the work is rescheduled). */
  maxWaitMs?: number;
}

export type Opened =
  | { ok: true; client: CrmClient; definition: ConnectorDefinition; connection: ConnectionRecord; http: CrmHttp }
  | { ok: false; reason: FulfilmentReason; connection: ConnectionRecord | null };

/**
 * Opens the connection's connector for reading and writing, or says why it cannot: disabled, no
 * connector for the kind, settings incomplete, no credentials. Tokens are fetched on first use,
 * refreshed before they expire, refreshed once after a 401, and a refused refresh marks the
 * connection "needs re-authorisation".
 */
export async function openConnector(db: Db, box: SecretBox, connectionId: string, options: OpenOptions): Promise<Opened> {
  const connection = await loadConnection(db, connectionId);
  if (!connection) return { ok: false, reason: { code: 'disabled', message: `There is no connection "${connectionId}".` }, connection: null };
  if (!connection.enabled) return { ok: false, reason: { code: 'disabled', message: `The connection ${connection.name} is disabled.` }, connection };
  const definition = connectorFor(connection.kind);
  if (!definition) return { ok: false, reason: { code: 'no-connector', message: `AccessLens has no ${connection.kind} connector yet.` }, connection };
  const settings = definition.settingsSchema.safeParse(connection.settings);
  if (!settings.success) {
    const issue = settings.error.issues[0];
    return {
      ok: false,
      reason: {
        code: 'no-credentials',
        message: `The connection is not fully set up (settings.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}).`,
      },
      connection,
    };
  }
  const raw = await readCredentials(db, box, connectionId);
  if (raw === null) return { ok: false, reason: { code: 'no-credentials', message: `The connection ${connection.name} has no credentials.` }, connection };
  const credentials = definition.credentialsSchema.safeParse(raw);
  if (!credentials.success)
    return { ok: false, reason: { code: 'no-credentials', message: 'The stored credentials no longer fit this connector; enter them again.' }, connection };

  const config: ConnectionConfig = {
    id: connection.id,
    kind: connection.kind,
    name: connection.name,
    tenant: connection.tenant,
    mode: connection.mode,
    automaticChange: connection.automaticChange,
    settings: settings.data,
  };
  const http = new CrmHttp({
    signal: options.signal,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    ...(definition.isRateLimitBody ? { isRateLimitBody: definition.isRateLimitBody } : {}),
    ...(definition.isAuthFailureBody ? { isAuthFailureBody: definition.isAuthFailureBody } : {}),
    ...(definition.authorization ? { authorization: definition.authorization } : {}),
  });
  const tokens = new DbTokenStore(db, box, connectionId, options.now);
  const base = { connection: config, credentials: credentials.data, http, now: options.now, signal: options.signal };
  const rejected = (message: string) => markNeedsReauthorisation(db, connectionId, message, options.now());
  http.useTokens(tokenSource(definition, base, tokens, options.now, rejected));
  return { ok: true, client: definition.open({ ...base, tokens }), definition, connection, http };
}

/** Refresh this long before a token's end. */
const REFRESH_BEFORE_MS = 5 * 60_000;

function tokenSource(
  definition: ConnectorDefinition,
  ctx: Parameters<ConnectorDefinition['authenticate']>[0],
  store: TokenStore,
  now: () => Date,
  rejected: (message: string) => Promise<void>,
): TokenSource {
  let inflight: Promise<string> | null = null;
  const refresh = () => {
    inflight ??= (async () => {
      try {
        const token = await definition.authenticate(ctx, await store.get());
        await store.set(token);
        return token.accessToken;
      } catch (error) {
        if (error instanceof CrmError && error.kind === 'auth') await rejected(error.message);
        throw error;
      } finally {
        inflight = null;
      }
    })();
    return inflight;
  };
  return {
    async token() {
      const t = await store.get();
      if (t && (t.expiresAt === null || Date.parse(t.expiresAt) - now().getTime() > REFRESH_BEFORE_MS)) return t.accessToken;
      return refresh();
    },
    refresh,
    rejected,
  };
}
