/** Whether a kill switch pauses AccessLens on a page, for the installed extension version. */
import type { CrmKind } from '../constants.ts';
import type { KillSwitch, PageKind } from './types.ts';

/** Compares dotted versions numerically (`0.10.0` > `0.9.2`); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/**
 * The switch that pauses `crm` (or this page kind of it) for `installed`, if any: one applies until the
 * installed version reaches its `fixedIn`, then lapses by itself.
 */
export function pausingSwitch<K extends KillSwitch>(
  switches: readonly (K & { deleted?: boolean })[],
  crm: CrmKind,
  pageKind: PageKind,
  installed: string,
): K | null {
  return (
    switches.find((s) => !s.deleted && s.crm === crm && (s.pageKind === null || s.pageKind === pageKind) && compareVersions(installed, s.fixedIn) < 0) ?? null
  );
}
