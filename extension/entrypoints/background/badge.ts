/** The toolbar badge: how many decisions wait for the signed-in approver. */
import { browser } from 'wxt/browser';
import { approverQueue, type Slice } from '@accesslens/shared';

export function badgeCount(view: Slice | null, signedIn: boolean): number {
  if (!signedIn || !view?.me) return 0;
  return approverQueue(view, view.me.id).length;
}

export async function updateBadge(view: Slice | null, signedIn: boolean): Promise<void> {
  const count = badgeCount(view, signedIn);
  await browser.action.setBadgeText({ text: count > 0 ? String(count) : '' });
  if (count > 0) await browser.action.setBadgeBackgroundColor({ color: '#b42318' });
}

/** Keeps the badge in step with the replica. */
export function wireBadge(replica: { onChange(l: () => void): unknown; view(): Promise<Slice | null>; signedIn(): Promise<boolean> }) {
  const refresh = async () => updateBadge(await replica.view(), await replica.signedIn());
  replica.onChange(() => void refresh());
  return refresh;
}
