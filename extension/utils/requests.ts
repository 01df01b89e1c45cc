/** How requests read to people, shared by the overlay and the popup. */
import type { AccessRequest } from '@accesslens/shared';
import { formatDate, joinNames, t } from './i18n';

export const OPEN_STATUSES: ReadonlySet<AccessRequest['status']> = new Set(['pending', 'needs-info']);

export function isOpen(r: AccessRequest): boolean {
  return OPEN_STATUSES.has(r.status);
}

/** Who must still decide an open request. */
export function waitingForIds(r: AccessRequest): string[] {
  const stage = r.stages.find((s) => s.decision === null);
  return stage ? stage.approverIds : [];
}

export function namesOf(ids: string[], nameOf: (id: string) => string | undefined): string {
  if (ids.length === 0) return t('people.admins');
  return joinNames(ids.map((id) => nameOf(id) ?? t('people.unknown')));
}

/** The decision that closed a request, if any (the deny, or the last approval). */
export function closingDecision(r: AccessRequest) {
  const decided = r.stages.filter((s) => s.decision !== null).map((s) => s.decision!);
  return decided.find((d) => d.outcome === 'deny') ?? decided.at(-1) ?? null;
}

/** One line for a request's state: "Pending — waiting for Ben Ortiz", "Granted until …", "Denied by …: …". */
export function statusLine(r: AccessRequest, nameOf: (id: string) => string | undefined, fallbackApprovers: string[] = []): string {
  switch (r.status) {
    case 'pending':
    case 'needs-info': {
      const ids = waitingForIds(r);
      return t('status.pending', { names: namesOf(ids.length ? ids : fallbackApprovers, nameOf) });
    }
    case 'approved':
    case 'fulfilled':
      return r.expiresAt ? t('status.grantedUntil', { date: formatDate(r.expiresAt) }) : t('status.grantedOpenEnded');
    case 'denied': {
      const d = closingDecision(r);
      return t('status.denied', {
        name: (d && nameOf(d.deciderId)) ?? t('people.unknown'),
        reason: d?.reason ?? '',
      });
    }
    case 'cancelled':
      return t('status.cancelled');
    case 'expired':
      return t('status.expired');
    case 'revoked':
      return t('status.revoked');
  }
}
