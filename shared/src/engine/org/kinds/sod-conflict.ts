/** Separation of duties: the account is on both sides of a rule (by keys it holds or bundles it holds). */
import type { Finding } from '../../findings.ts';
import type { OrgAccount } from '../../types.ts';
import { put, type ConnState, type OrgContext } from '../context.ts';
import { onSide, sideMatch, splitHits } from '../sod.ts';

/** `[...new Set([...a, ...b])].sort()` for the few strings a side names, building only the result. */
function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = new Array(a.length + b.length);
  let n = 0;
  for (const list of [a, b])
    for (const x of list) {
      let i = n;
      while (i > 0 && out[i - 1]! > x) i--;
      if (i > 0 && out[i - 1] === x) continue;
      for (let j = n; j > i; j--) out[j] = out[j - 1]!;
      out[i] = x;
      n++;
    }
  out.length = n;
  return out;
}

export function sodConflictFindings(ctx: OrgContext, cs: ConnState, a: number, acct: OrgAccount, out: Finding[]): void {
  for (const s of cs.sod) {
    if (!onSide(cs, a, s.left) || !onSide(cs, a, s.right)) continue;
    const l = sideMatch(cs, a, s.left)!;
    const r = sideMatch(cs, a, s.right)!;
    const left = splitHits(l);
    const right = splitHits(r);
    put(
      out,
      ctx.make(
        cs,
        acct,
        'sod-conflict',
        cs.single(s.rule.id),
        sortedUnion(left.keys, right.keys),
        sortedUnion(left.bundleIds, right.bundleIds),
        s.rule.severity,
        {
          kind: 'sod-conflict',
          ruleId: s.rule.id,
          ruleName: s.rule.name,
          left,
          right,
        },
      ),
    );
  }
}
