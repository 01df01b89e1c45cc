/**
 * Policy with four eyes: an administrator proposes a change (the thresholds in a form, anything else in
 * the document's JSON); the diff and who it would give more are shown; another administrator approves
 * it and only then does it apply. The proposer cannot approve their own change (the server refuses too).
 */
import { useEffect, useState } from 'preact/hooks';
import type { PolicyProposalView, PolicyResponse, UiError } from '@accesslens/shared';
import { formatDateTime, t } from '../../utils/i18n';
import { api } from './api';
import { Problem, type ConsoleContext } from './Console';
import { Table } from './table';

const THRESHOLDS = ['unusedDays', 'dormantDays', 'peerOutlierShare', 'minPeerGroup'] as const;
type ThresholdKey = (typeof THRESHOLDS)[number];

export function PolicyTab({ ctx }: { ctx: ConsoleContext }) {
  const [policy, setPolicy] = useState<PolicyResponse | null>(null);
  const [proposals, setProposals] = useState<PolicyProposalView[]>([]);
  const [text, setText] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const isAdmin = ctx.me.roles.includes('admin');

  const load = async () => {
    const [p, list] = await Promise.all([
      api<PolicyResponse>('GET', '/api/policy'),
      isAdmin ? api<{ proposals: PolicyProposalView[] }>('GET', '/api/policy/proposals') : null,
    ]);
    if (p.ok) {
      setPolicy(p.data);
      setText(JSON.stringify(p.data.document, null, 2));
    } else setError(p.error);
    if (list?.ok) setProposals(list.data.proposals);
    else if (list) setError(list.error);
  };
  useEffect(() => {
    void load();
  }, []);

  let draft: Record<string, unknown> | null = null;
  try {
    draft = JSON.parse(text) as Record<string, unknown>;
  } catch {
    draft = null;
  }
  const thresholds = (draft?.thresholds ?? {}) as Partial<Record<ThresholdKey, number>>;
  const setThreshold = (k: ThresholdKey, v: string) => {
    if (!draft) return;
    const n = Number(v);
    setText(JSON.stringify({ ...draft, thresholds: { ...thresholds, [k]: Number.isFinite(n) && v !== '' ? n : v } }, null, 2));
  };

  const propose = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    if (!policy) return;
    if (!draft) return setError({ code: 'invalid_input', field: 'document', message: t('console.policy.badJson') });
    const r = await api<{ proposal: PolicyProposalView }>('POST', '/api/policy/proposals', { baseVersion: policy.version, document: draft, note: note.trim() });
    if (!r.ok) return setError(r.error);
    setError(null);
    setNote('');
    setSaved(
      r.data.proposal.status === 'applied' ? t('console.policy.applied', { version: r.data.proposal.appliedVersion ?? '' }) : t('console.policy.proposed'),
    );
    await load();
  };

  const pending = proposals.filter((p) => p.status === 'pending');
  const decided = proposals.filter((p) => p.status !== 'pending').slice(0, 10);

  return (
    <div class="stack">
      <Problem error={error} />
      {saved && (
        <p class="ok" role="status" data-testid="al-policy-saved">
          {saved}
        </p>
      )}
      {policy && (
        <p class="muted" data-testid="al-policy-version" data-version={policy.version}>
          {t('console.policy.version', { version: policy.version, when: policy.createdAt ? formatDateTime(policy.createdAt) : '—' })}
        </p>
      )}
      {isAdmin && (
        <section aria-labelledby="pending-title">
          <h2 id="pending-title">{t('console.policy.pending', { n: pending.length })}</h2>
          {pending.length === 0 && <p class="muted">{t('console.policy.nonePending')}</p>}
          {pending.map((p) => (
            <Proposal key={p.id} p={p} me={ctx.me.id} onChanged={load} onError={setError} />
          ))}
        </section>
      )}
      {isAdmin && policy && (
        <form class="card-lite" onSubmit={(e) => void propose(e)} aria-labelledby="change-title">
          <h2 id="change-title">{t('console.policy.change')}</h2>
          <p class="muted">{t('console.policy.fourEyes')}</p>
          <div class="filters">
            {THRESHOLDS.map((k) => (
              <label key={k}>
                <span>{t(`console.policy.threshold.${k}`)}</span>
                <input
                  type="number"
                  step={k === 'peerOutlierShare' ? '0.01' : '1'}
                  value={thresholds[k] ?? ''}
                  data-testid={`al-policy-${k}`}
                  disabled={!draft}
                  onInput={(e) => setThreshold(k, e.currentTarget.value)}
                />
              </label>
            ))}
          </div>
          <details>
            <summary>{t('console.policy.json')}</summary>
            <label class="field">
              <span>{t('console.policy.document')}</span>
              <textarea rows={16} class="code" value={text} data-testid="al-policy-json" spellcheck={false} onInput={(e) => setText(e.currentTarget.value)} />
            </label>
            {!draft && <p class="error">{t('console.policy.badJson')}</p>}
          </details>
          <label class="field">
            <span>{t('console.policy.note')}</span>
            <input type="text" value={note} maxLength={500} data-testid="al-policy-note" onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <button type="submit" class="button button--primary" data-testid="al-policy-propose" disabled={!draft}>
            {t('console.policy.propose')}
          </button>
        </form>
      )}
      {decided.length > 0 && (
        <section aria-labelledby="decided-title">
          <h2 id="decided-title">{t('console.policy.recent')}</h2>
          {decided.map((p) => (
            <Proposal key={p.id} p={p} me={ctx.me.id} onChanged={load} onError={setError} />
          ))}
        </section>
      )}
    </div>
  );
}

function Proposal({ p, me, onChanged, onError }: { p: PolicyProposalView; me: string; onChanged: () => Promise<void>; onError: (e: UiError | null) => void }) {
  const [reason, setReason] = useState('');
  const mine = p.proposedBy.id === me;
  const benefits = p.beneficiaries.some((b) => b.person.id === me);
  const act = async (what: 'approve' | 'reject' | 'withdraw') => {
    const body = what === 'reject' ? { note: reason.trim() } : what === 'approve' ? { note: '' } : {};
    const r = await api('POST', `/api/policy/proposals/${encodeURIComponent(p.id)}/${what}`, body);
    if (!r.ok) return onError(r.error);
    onError(null);
    await onChanged();
  };
  return (
    <article class="card-lite" data-testid="al-policy-proposal" data-proposal-id={p.id} data-status={p.status}>
      <p>
        <strong>{t('console.policy.by', { name: p.proposedBy.name, when: formatDateTime(p.proposedAt) })}</strong> · {t(`console.proposal.${p.status}`)}
        {p.appliedVersion !== null && ` · ${t('console.policy.asVersion', { version: p.appliedVersion })}`}
      </p>
      {p.note && <p class="why">{p.note}</p>}
      {p.stale && p.status === 'pending' && <p class="error">{t('console.policy.stale')}</p>}
      {p.beneficiaries.length > 0 && (
        <p class="warn" data-testid="al-policy-beneficiaries">
          {t('console.policy.beneficiaries', { names: p.beneficiaries.map((b) => b.person.name).join(', ') })}
        </p>
      )}
      <Table
        testid="al-policy-diff"
        caption={t('console.policy.diff')}
        columns={[t('console.policy.section'), t('console.policy.changeKind'), t('console.policy.before'), t('console.policy.after')]}
      >
        {p.diff.map((d, i) => {
          const [before, after] = narrowed(d.before, d.after);
          return (
            <tr key={i}>
              <td>
                {d.section}
                {d.id ? ` · ${d.id}` : ''}
                {d.fields.length > 0 && <div class="muted">{d.fields.join(', ')}</div>}
              </td>
              <td>{t(`console.diff.${d.change}`)}</td>
              <td>
                <code class="diff-del">{before}</code>
              </td>
              <td>
                <code class="diff-add">{after}</code>
              </td>
            </tr>
          );
        })}
      </Table>
      {p.decidedBy && (
        <p class="muted">
          {t('console.policy.decidedBy', { name: p.decidedBy.name, when: p.decidedAt ? formatDateTime(p.decidedAt) : '' })}
          {p.decisionNote ? `: ${p.decisionNote}` : ''}
        </p>
      )}
      {p.status === 'pending' && (
        <div class="actions">
          {mine ? (
            <>
              <p class="muted" data-testid="al-policy-own">
                {t('console.policy.ownProposal')}
              </p>
              <button type="button" class="button" data-testid="al-policy-withdraw" onClick={() => void act('withdraw')}>
                {t('console.policy.withdraw')}
              </button>
            </>
          ) : (
            <>
              {benefits && <p class="error">{t('console.policy.youBenefit')}</p>}
              <button
                type="button"
                class="button button--primary"
                data-testid="al-policy-approve"
                disabled={benefits || p.stale}
                onClick={() => void act('approve')}
              >
                {t('console.policy.approve')}
              </button>
              <label class="inline">
                <span class="sr-only">{t('console.policy.rejectReason')}</span>
                <input type="text" value={reason} placeholder={t('console.policy.rejectReason')} onInput={(e) => setReason(e.currentTarget.value)} />
              </label>
              <button type="button" class="button" data-testid="al-policy-reject" disabled={!reason.trim()} onClick={() => void act('reject')}>
                {t('console.policy.reject')}
              </button>
            </>
          )}
        </div>
      )}
    </article>
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Two objects: only the fields that differ (`dormantDays: 30` → `dormantDays: 45`); anything else in full, shortened. */
function narrowed(before: unknown, after: unknown): [string, string] {
  if (!isRecord(before) || !isRecord(after)) return [short(before), short(after)];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  const side = (o: Record<string, unknown>) => keys.map((k) => `${k}: ${short(o[k])}`).join('\n');
  return [side(before), side(after)];
}

function short(v: unknown): string {
  if (v === undefined || v === null) return '—';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 160 ? `${s.slice(0, 159)}…` : s;
}
