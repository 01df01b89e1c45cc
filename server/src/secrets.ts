/**
 * Secrets at rest: CRM credentials and OAuth tokens are encrypted with AES-256-GCM before they reach
 * the database. The key comes from `ACCESSLENS_SECRET_KEY` (base64 of 32 bytes), or — for an embedded
 * database file only — from a key file created beside it at first start (mode 0600). Several processes
 * on a libsql server must share one key, so there the variable is required.
 *
 * Rotation keeps a key ring: the first key encrypts, every key decrypts (each ciphertext names the key
 * that made it). `pnpm accesslens secret rotate` re-encrypts every secret with the current key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Db } from './db.ts';
import { filePathOf } from './db.ts';
import { runWrite } from './write.ts';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const FORMAT = 'v1';

export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

export interface SecretKey {
  /** A fingerprint of the key (not the key): stored with each ciphertext. */
  id: string;
  bytes: Buffer;
}

export const keyIdOf = (bytes: Buffer): string => createHash('sha256').update('accesslens-secret-key').update(bytes).digest('hex').slice(0, 16);

function parseKey(text: string, where: string): SecretKey {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length !== KEY_BYTES || bytes.toString('base64').replace(/=+$/, '') !== trimmed.replace(/=+$/, ''))
    throw new SecretKeyError(`${where} must be the base64 of exactly ${KEY_BYTES} random bytes (e.g. \`openssl rand -base64 32\`).`);
  return { id: keyIdOf(bytes), bytes };
}

export function generateKey(): SecretKey {
  const bytes = randomBytes(KEY_BYTES);
  return { id: keyIdOf(bytes), bytes };
}

/** Where the key file of a `file:` database lives: beside it, named after it. */
export function keyFilePathFor(databaseUrl: string): string | null {
  const path = filePathOf(databaseUrl);
  return path ? join(dirname(path), `${path.split(/[\\/]/).pop()}.key`) : null;
}

/** The keys this process holds: `current` encrypts; all of them decrypt. */
export class KeyRing {
  constructor(
    readonly current: SecretKey,
    readonly previous: SecretKey[] = [],
    /** The key file the ring was read from (reread when it changes: a rotation by the CLI). */
    readonly file: string | null = null,
    readonly fileMtimeMs: number | null = null,
  ) {}

  find(id: string): SecretKey | undefined {
    return [this.current, ...this.previous].find((k) => k.id === id);
  }
}

function readKeyFile(file: string): SecretKey[] {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new SecretKeyError(`The secret key file ${file} is readable by others (mode ${mode.toString(8)}): run \`chmod 600 ${file}\`.`);
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) throw new SecretKeyError(`The secret key file ${file} holds no key.`);
  return lines.map((l, i) => parseKey(l, `Line ${i + 1} of ${file}`));
}

/** Writes the key file atomically with mode 0600 (the first key is the current one). */
export function writeKeyFile(file: string, keys: SecretKey[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const body = [
    '# AccessLens secret key ring: the first key encrypts, every key decrypts. Keep it private (mode 0600).',
    ...keys.map((k) => k.bytes.toString('base64')),
    '',
  ].join('\n');
  writeFileSync(tmp, body, { mode: 0o600, flag: 'w' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/**
 * The key ring for a database: `ACCESSLENS_SECRET_KEY` (and `ACCESSLENS_SECRET_KEY_PREVIOUS`, a
 * comma-separated list of old keys during a rotation), else the key file beside a `file:` database,
 * created at first use with mode 0600. A libsql server needs the variable.
 */
export function loadKeyRing(env: Record<string, string | undefined>, databaseUrl: string): KeyRing {
  const fromEnv = env.ACCESSLENS_SECRET_KEY?.trim();
  const previous = (env.ACCESSLENS_SECRET_KEY_PREVIOUS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s, i) => parseKey(s, `ACCESSLENS_SECRET_KEY_PREVIOUS (entry ${i + 1})`));
  if (fromEnv) return new KeyRing(parseKey(fromEnv, 'ACCESSLENS_SECRET_KEY'), previous);
  const file = keyFilePathFor(databaseUrl);
  if (!file)
    throw new SecretKeyError(
      'ACCESSLENS_SECRET_KEY is required with a libsql server DATABASE_URL: every server process must use the same key ' +
        '(generate one with `openssl rand -base64 32`).',
    );
  if (!existsSync(file)) {
    // On a fresh checkout the database's folder does not exist yet: the key is read before the database opens.
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(
        file,
        `# AccessLens secret key ring: the first key encrypts, every key decrypts. Keep it private (mode 0600).\n${generateKey().bytes.toString('base64')}\n`,
        {
          mode: 0o600,
          flag: 'wx', // another process creating it at the same moment wins; we read theirs
        },
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return ringFromFile(file, previous);
}

function ringFromFile(file: string, previous: SecretKey[] = []): KeyRing {
  const mtime = statSync(file).mtimeMs;
  const [current, ...rest] = readKeyFile(file);
  return new KeyRing(current!, [...rest, ...previous], file, mtime);
}

/** Encrypts and decrypts secrets bound to where they are stored (the AAD), with a key ring. */
export class SecretBox {
  constructor(private ring: KeyRing) {}

  get keyId(): string {
    this.#refresh();
    return this.ring.current.id;
  }

  /** A key file rotated by the CLI while this process runs: encrypt with its new key from now on. */
  #refresh(): void {
    const file = this.ring.file;
    if (!file) return;
    try {
      if (statSync(file).mtimeMs !== this.ring.fileMtimeMs) this.ring = ringFromFile(file);
    } catch {
      // The file vanished or is unreadable: keep the keys already held.
    }
  }

  get keyRing(): KeyRing {
    return this.ring;
  }

  /** The ring, reread first when the CLI rotated the key file while this process runs. */
  currentKeyRing(): KeyRing {
    this.#refresh();
    return this.ring;
  }

  /** `context` names where the secret lives (e.g. "connection:sf-acme:credentials"): a ciphertext moved elsewhere fails. */
  encrypt(plaintext: string, context: string): { keyId: string; ciphertext: string } {
    this.#refresh();
    const key = this.ring.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return { keyId: key.id, ciphertext: [FORMAT, key.id, iv.toString('base64url'), body.toString('base64url'), tag.toString('base64url')].join('.') };
  }

  decrypt(ciphertext: string, context: string): string {
    const parts = ciphertext.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT) throw new SecretKeyError('A stored secret is not in a format this version understands.');
    const [, keyId, iv, body, tag] = parts as [string, string, string, string, string];
    let key = this.ring.find(keyId);
    if (!key) {
      this.#refresh();
      key = this.ring.find(keyId);
    }
    if (!key)
      throw new SecretKeyError(
        `A stored secret was encrypted with key ${keyId}, which this server does not hold (current key ${this.ring.current.id}). ` +
          'Set ACCESSLENS_SECRET_KEY (or ACCESSLENS_SECRET_KEY_PREVIOUS during a rotation) to the key that encrypted it.',
      );
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError(`A stored secret (${context}) failed its integrity check: it was altered or moved.`);
    }
  }
}

export const secretContext = (connectionId: string, purpose: 'credentials' | 'token') => `connection:${connectionId}:${purpose}`;

/**
 * Re-encrypts every stored secret with the ring's current key, in one transaction, audited. Returns
 * how many were rewritten (secrets already under the current key are left as they are).
 */
export async function reencryptAll(db: Db, box: SecretBox, now: Date): Promise<{ rewritten: number; total: number }> {
  return runWrite(db, now, async (w) => {
    const rows = await w.tx.execute('SELECT connection_id, purpose, key_id, ciphertext FROM connection_secrets ORDER BY connection_id, purpose');
    let rewritten = 0;
    for (const r of rows.rows) {
      if (String(r.key_id) === box.keyId) continue;
      const context = secretContext(String(r.connection_id), String(r.purpose) as 'credentials' | 'token');
      const plain = box.decrypt(String(r.ciphertext), context);
      const sealed = box.encrypt(plain, context);
      await w.tx.execute({
        sql: 'UPDATE connection_secrets SET key_id = ?, ciphertext = ?, updated_at = ? WHERE connection_id = ? AND purpose = ?',
        args: [sealed.keyId, sealed.ciphertext, w.nowIso, String(r.connection_id), String(r.purpose)],
      });
      rewritten++;
    }
    await w.audit({
      actorId: null,
      action: 'secrets.rotated',
      subjectType: 'secrets',
      subjectId: null,
      data: { keyId: box.keyId, rewritten, total: rows.rows.length },
    });
    return { rewritten, total: rows.rows.length };
  });
}

/**
 * `secret rotate`: with ACCESSLENS_SECRET_KEY, re-encrypts everything under it (old secrets are read
 * with ACCESSLENS_SECRET_KEY_PREVIOUS). With a key file, makes a new key, keeps the old one in the file
 * until every secret is re-encrypted, then drops it; running servers pick the new file up.
 */
export async function rotateSecrets(
  db: Db,
  env: Record<string, string | undefined>,
  databaseUrl: string,
  now: Date,
): Promise<{ mode: 'env' | 'file'; keyId: string; rewritten: number; total: number; file: string | null }> {
  const ring = loadKeyRing(env, databaseUrl);
  if (!ring.file) {
    const result = await reencryptAll(db, new SecretBox(ring), now);
    return { mode: 'env', keyId: ring.current.id, ...result, file: null };
  }
  const fresh = generateKey();
  const old = [ring.current, ...ring.previous];
  writeKeyFile(ring.file, [fresh, ...old]);
  const result = await reencryptAll(db, new SecretBox(new KeyRing(fresh, old)), now);
  writeKeyFile(ring.file, [fresh]);
  return { mode: 'file', keyId: fresh.id, ...result, file: ring.file };
}
