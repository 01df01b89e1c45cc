import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKey, KeyRing, keyFilePathFor, loadKeyRing, SecretBox, SecretKeyError, writeKeyFile } from './secrets.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'accesslens-secrets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('secrets at rest', () => {
  it('creates the key file beside the database at first use, with mode 0600, and reads the same key after', () => {
    const url = `file:${join(dir, 'al.db')}`;
    expect(keyFilePathFor(url)).toBe(join(dir, 'al.db.key'));
    const first = loadKeyRing({}, url);
    expect(statSync(join(dir, 'al.db.key')).mode & 0o777).toBe(0o600);
    expect(loadKeyRing({}, url).current.id).toBe(first.current.id);
  });

  it('creates the database folder too when it does not exist yet (a fresh checkout)', () => {
    const url = `file:${join(dir, 'data', 'al.db')}`;
    loadKeyRing({}, url);
    expect(statSync(join(dir, 'data', 'al.db.key')).mode & 0o777).toBe(0o600);
  });

  it('refuses a key file others can read, a malformed key, and a libsql server without the variable', () => {
    const url = `file:${join(dir, 'al.db')}`;
    loadKeyRing({}, url);
    chmodSync(join(dir, 'al.db.key'), 0o644);
    expect(() => loadKeyRing({}, url)).toThrow(/chmod 600/);
    expect(() => loadKeyRing({ ACCESSLENS_SECRET_KEY: 'c2hvcnQ=' }, url)).toThrow(SecretKeyError);
    expect(() => loadKeyRing({}, 'http://127.0.0.1:8080')).toThrow(/ACCESSLENS_SECRET_KEY is required with a libsql server/);
    const key = generateKey().bytes.toString('base64');
    expect(loadKeyRing({ ACCESSLENS_SECRET_KEY: key }, 'http://127.0.0.1:8080').current.bytes.toString('base64')).toBe(key);
  });

  it('AES-256-GCM: round-trips, binds a secret to where it is stored, and names a missing key', () => {
    const box = new SecretBox(new KeyRing(generateKey()));
    const sealed = box.encrypt('{"clientSecret":"s3cret"}', 'connection:a:credentials');
    expect(sealed.ciphertext).not.toContain('s3cret');
    expect(box.decrypt(sealed.ciphertext, 'connection:a:credentials')).toBe('{"clientSecret":"s3cret"}');
    expect(() => box.decrypt(sealed.ciphertext, 'connection:b:credentials')).toThrow(/integrity check/);
    const tampered = sealed.ciphertext.replace(/\.([^.]{4})/, '.AAAA');
    expect(() => box.decrypt(tampered, 'connection:a:credentials')).toThrow(SecretKeyError);
    const other = new SecretBox(new KeyRing(generateKey()));
    expect(() => other.decrypt(sealed.ciphertext, 'connection:a:credentials')).toThrow(/does not hold/);
    // Two encryptions of the same secret differ (a fresh nonce each time).
    expect(box.encrypt('x', 'c').ciphertext).not.toBe(box.encrypt('x', 'c').ciphertext);
  });

  it('follows a key file rotated while it runs', () => {
    const url = `file:${join(dir, 'al.db')}`;
    const box = new SecretBox(loadKeyRing({}, url));
    const old = box.keyId;
    const fresh = generateKey();
    writeKeyFile(join(dir, 'al.db.key'), [fresh]);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'al.db.key'), later, later); // a distinct mtime whatever the filesystem's resolution
    expect(readFileSync(join(dir, 'al.db.key'), 'utf8')).toContain(fresh.bytes.toString('base64'));
    expect(box.encrypt('x', 'c').keyId).toBe(fresh.id);
    expect(box.keyId).not.toBe(old);
  });
});
