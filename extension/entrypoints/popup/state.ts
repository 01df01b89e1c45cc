import type { PopupState } from '@accesslens/shared';
import { labelOf } from '../../utils/i18n';
import type { HistoryItem, MutationFailure } from '../../utils/protocol';

export type SignedIn = Extract<PopupState, { signedIn: true }> & { failures: MutationFailure[]; history?: HistoryItem[] };

/** A grant ending within this many days offers "Extend" (the server reminds 3 days before, by default). */
export const EXTEND_WITHIN_DAYS = 7;

/** A permission's catalog label in the viewer's language, or its key. */
export function labelFor(s: SignedIn, key: string, connectionId?: string): string {
  const entry = s.catalog.find((c) => c.key === key && (connectionId === undefined || c.connectionId === connectionId));
  return labelOf(entry?.labels, key);
}
