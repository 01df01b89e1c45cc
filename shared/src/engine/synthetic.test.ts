import { describe, expect, it } from 'vitest';
import { findings, OrgEngine } from './org.ts';
import { generateSyntheticOrg, seededRandom } from './synthetic.ts';

describe('synthetic org', () => {
  it('is deterministic for a seed and has the requested shape', () => {
    const a = generateSyntheticOrg({ seed: 3, accounts: 300 });
    const b = generateSyntheticOrg({ seed: 3, accounts: 300 });
    expect(JSON.stringify(a.org)).toBe(JSON.stringify(b.org));
    expect(JSON.stringify(generateSyntheticOrg({ seed: 4, accounts: 300 }).org)).not.toBe(JSON.stringify(a.org));
    expect(a.stats).toMatchObject({ accounts: 300, keys: 2000, bundles: 300, maxInheritanceDepth: 4, sodRules: 50 });
  });

  it('builds, finds, and recomputes incrementally to the same result as a full scan', () => {
    const { org, now, stats } = generateSyntheticOrg({ seed: 5, accounts: 600 });
    const engine = new OrgEngine(org, now);
    expect(stats.keys).toBe(2000);
    // The universe is closed under implication: Modify All on each of the 150 objects also reaches
    // edit, delete and transfer (assign) record access org-wide, and each of those its narrower
    // Salesforce scopes (hierarchy, team, own): 150 × 3 × 4 more keys.
    expect(engine.connection('sf')!.keyCount).toBe(2000 + 150 * 3 * 4);
    const rnd = seededRandom(1);
    const added = [];
    for (let i = 0; i < 20; i++) {
      const assignment = {
        id: `x${i}`,
        accountId: `a${Math.floor(rnd() * 600)}`,
        target: { type: 'bundle' as const, bundleId: `b${1 + Math.floor(rnd() * 299)}` },
        source: 'request' as const,
        requestId: null,
        grantedAt: now.toISOString(),
        expiresAt: null,
        revokedAt: null,
      };
      engine.applyAssignmentChange({ type: 'upsert', assignment });
      added.push(assignment);
    }
    engine.applyAssignmentChange({ type: 'remove', assignmentId: org.assignments[0]!.id });
    const expected = findings({ ...org, assignments: [...org.assignments.slice(1), ...added] }, now);
    const snap = (fs: { id: string; severity: string; evidence: unknown }[]) => fs.map((f) => `${f.id}:${f.severity}:${JSON.stringify(f.evidence)}`).sort();
    expect(snap(engine.findings())).toEqual(snap(expected));
  });
});
