/**
 * The extension's own input checks (the shared zod schemas), said in the person's language. zod's own
 * messages are English (and the schemas' custom ones too): a form shows the message made here from the
 * issue's kind and bounds instead, naming the field as the form labels it. Type-only import of zod: the
 * helper adds nothing to a bundle that does not already parse with zod.
 */
import type { UiError } from '@accesslens/shared';
import { detailOf, type IssueDetail } from '@accesslens/shared/server-errors';
import type { z } from 'zod';
import { t, type MessageKey } from './i18n';

type Issue = z.core.$ZodIssue;

/** The label of a field, by the last segment of its path, as the forms show it. */
const FIELD_LABELS = {
  serverUrl: 'options.serverUrl',
  email: 'options.email',
  password: 'options.password',
  justification: 'field.justification',
  evidence: 'field.evidence',
  durationDays: 'field.duration',
  reason: 'popup.denyReason',
  permissions: 'field.permissions',
  requestId: 'field.request',
  outcome: 'field.decision',
  page: 'field.page',
  url: 'field.page',
} as const satisfies Record<string, MessageKey>;

export function fieldLabel(path: readonly PropertyKey[]): string {
  // `evidence.0` is the evidence field; `permissions.3` the permissions.
  const named = [...path].reverse().find((p): p is string => typeof p === 'string');
  const key = named && Object.hasOwn(FIELD_LABELS, named) ? FIELD_LABELS[named as keyof typeof FIELD_LABELS] : undefined;
  return t(key ?? 'field.generic');
}

/** One zod issue as a sentence in the person's language. */
export function issueMessage(issue: Issue): string {
  return detailMessage(detailOf(issue), issue.path);
}

/**
 * A validation issue's kind and bounds (ours, or the server's `issues[].detail`) as a sentence in the person's
 * language, naming the field at `path` as the forms label it.
 */
export function detailMessage(detail: IssueDetail, path: readonly PropertyKey[]): string {
  const field = fieldLabel(path);
  if (detail.missing) return t('validation.required', { field });
  switch (detail.code) {
    case 'too_small': {
      const n = detail.minimum ?? 1;
      if (detail.origin === 'string') return n <= 1 ? t('validation.required', { field }) : t('validation.tooShort', { field, n });
      if (detail.origin === 'array' || detail.origin === 'set') return t('validation.tooFew', { field, n });
      return t('validation.tooSmall', { field, n });
    }
    case 'too_big': {
      const n = detail.maximum;
      if (n === undefined) return t('validation.invalid', { field });
      if (detail.origin === 'string') return t('validation.tooLong', { field, n });
      if (detail.origin === 'array' || detail.origin === 'set') return t('validation.tooMany', { field, n });
      return t('validation.tooBig', { field, n });
    }
    case 'invalid_format':
      if (detail.format === 'email') return t('validation.email', { field });
      if (detail.format === 'url') return t('validation.url', { field });
      return t('validation.format', { field });
    case 'invalid_type':
      if (detail.expected === 'int') return t('validation.wholeNumber', { field });
      return t('validation.invalid', { field });
    case 'invalid_value':
      return t('validation.choice', { field });
    default:
      return t('validation.invalid', { field });
  }
}

/** A dotted field path as the server sends it (`mutations.0.args.justification`) as a path. */
export function pathOf(field: string): PropertyKey[] {
  return field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * A zod failure as the UiError a form shows: the first issue about a field (the message's `type` is
 * nobody's field), its path as `field`, and the sentence above as `message`.
 */
export function invalidInput(error: z.ZodError, code = 'invalid_input'): { ok: false; error: UiError } {
  const issue = error.issues.find((i) => i.path[0] !== 'type') ?? error.issues[0];
  const field = issue?.path.map(String).join('.');
  return {
    ok: false,
    error: {
      code,
      message: issue && field && field !== 'type' ? issueMessage(issue) : t('error.invalidMessage'),
      ...(field && field !== 'type' ? { field } : {}),
    },
  };
}
