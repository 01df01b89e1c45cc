import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id minimum: 19 MiB, 2 iterations, 1 lane.
const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id (a const enum, not importable under isolatedModules) */,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/** Computes the throwaway hash ahead of the first unknown-email sign-in, so that one is not slower. */
export function primeDummyHash(): void {
  dummyHash ??= hashPassword(crypto.randomUUID());
}

/**
 * Verifies a password; with no stored hash (unknown email, no password set) it verifies against a
 * throwaway hash anyway, so the response time does not tell whether the email exists.
 */
export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (storedHash === null) {
    primeDummyHash();
    await verify(await dummyHash!, password).catch(() => false);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}
