import type { PopupState } from '@accesslens/shared';
import { labelOf } from '../../utils/i18n';
import type { MutationFailure } from '../../utils/protocol';

export type SignedIn = Extract<PopupState, { signedIn: true }> & { failures: MutationFailure[] };

/** A permission's catalog label in the viewer's language, or its key. */
export function labelFor(s: SignedIn, key: string, connectionId?: string): string {
  const entry = s.catalog.find((c) => c.key === key && (connectionId === undefined || c.connectionId === connectionId));
  return labelOf(entry?.labels, key);
}
