/**
 * What makes a password acceptable where AccessLens sets one (the first administrator, small teams
 * without SSO): long enough to resist guessing (NIST SP 800-63B §5.1.1.2 asks for at least 8 and checks
 * against known-weak values; we ask for 12), not the email, not one character repeated.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

const COMMON = new Set([
  'password1234',
  'password12345',
  'passwordpassword',
  '123456789012',
  '1234567890123',
  'qwertyuiopas',
  'qwerty123456',
  'iloveyou1234',
  'administrator',
  'admin1234567',
  'changeme1234',
  'letmein12345',
  'welcome12345',
  'accesslens12',
]);

/** Why `password` is refused, or null when it is acceptable. */
export function passwordProblem(password: string, context: { email?: string; name?: string } = {}): string | null {
  if (password.length === 0) return 'the password is empty';
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `the password is too short: use at least ${PASSWORD_MIN_LENGTH} characters (it has ${length})`;
  if (length > PASSWORD_MAX_LENGTH) return `the password is too long: at most ${PASSWORD_MAX_LENGTH} characters`;
  if (new Set(password).size < 4) return 'the password is too repetitive: use more different characters';
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'the password is a commonly used one: choose another';
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (context.email && (lower === context.email.toLowerCase() || (local && local.length >= 4 && lower.includes(local))))
    return 'the password must not contain the email address';
  if (context.name && context.name.length >= 4 && lower === context.name.toLowerCase()) return 'the password must not be the name';
  return null;
}
