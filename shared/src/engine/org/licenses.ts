/** License seats: accounts of a connection holding any key that consumes a license. */
import type { ConnState } from './context.ts';

export function licenseSeatsUsed(cs: ConnState, licenseId: string): { used: number; holders: Set<string> } {
  const holders = new Set<string>();
  const ids: number[] = [];
  for (const e of cs.catalog.values())
    if (e.license === licenseId) {
      const id = cs.index.keyId(e.key);
      if (id >= 0) ids.push(id);
    }
  const ix = cs.index;
  for (let a = 0; a < ix.accountCount; a++) {
    if (!cs.accounts[a]?.active) continue;
    for (const k of ids)
      if (ix.can(a, k)) {
        holders.add(ix.accountId(a));
        break;
      }
  }
  return { used: holders.size, holders };
}
