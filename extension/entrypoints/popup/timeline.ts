/** A request's timeline as people read it: "Ben Ortiz was reminded 2 hours ago", "Escalated to Cara Diaz yesterday". */
import type { TimelineEntry } from '@accesslens/shared';
import { formatDate, formatRelative, t } from '../../utils/i18n';
import { namesOf, type NameOf } from '../../utils/requests';

export function timelineText(e: TimelineEntry, nameOf: NameOf, now: Date = new Date()): string {
  const when = formatRelative(e.at, now);
  const name = (e.actorId && nameOf(e.actorId)) || t('people.unknown');
  const names = namesOf(e.personIds, nameOf);
  const date = formatDate(e.expiresAt ?? e.at);
  switch (e.kind) {
    case 'submitted':
    case 'auto-approved':
    case 'timed-out':
    case 'cancelled':
    case 'started':
    case 'fulfilled':
    case 'expired':
    case 'revoked':
      return t(`popup.tl.${e.kind}`, { when });
    case 'approved':
    case 'denied':
    case 'needs-info':
    case 'answered':
      return t(`popup.tl.${e.kind}`, { name, when });
    case 'routed':
    case 'escalated':
      return t(`popup.tl.${e.kind}`, { names, when });
    case 'reminded':
      return t(e.personIds.length > 1 ? 'popup.tl.remindedMany' : 'popup.tl.remindedOne', { names, when });
    case 'delegated':
      return t('popup.tl.delegated', { name, names, when });
    case 'expiring':
    case 'extended':
      return t(`popup.tl.${e.kind}`, { date });
  }
}
