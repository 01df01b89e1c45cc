/** How a request preview reads to people (the request form), and the evidence link check. */
import type { PolicyProblem, PolicyProblemParams, RequestPreviewResponse } from '@accesslens/shared';
import { joinNames, t } from './i18n';
import { stageLabel } from './requests';

/** At most this many evidence links travel with a request (the server's limit). */
export const MAX_EVIDENCE_LINKS = 5;

/** The links typed in the evidence field: several may be given, separated by spaces, commas or new lines. */
export function evidenceLinksOf(value: string): string[] {
  return value.split(/[\s,]+/).filter((v) => v.length > 0);
}

/** Each an http(s) link (at most five), or the reason they are not. */
export function evidenceProblem(value: string, required: boolean): string | null {
  const links = evidenceLinksOf(value);
  if (links.length === 0) return required ? t('request.evidenceMissing') : null;
  if (links.length > MAX_EVIDENCE_LINKS) return t('request.evidenceTooMany', { n: MAX_EVIDENCE_LINKS });
  for (const v of links) {
    let ok = false;
    try {
      const url = new URL(v);
      ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      // not a URL
    }
    if (!ok) return t('request.evidenceInvalid');
  }
  return null;
}

/** "Ben Ortiz (Manager), then Dan Wu (Deal Desk)", in stage order. */
export function willAskText(preview: RequestPreviewResponse): string | null {
  const stages = [...preview.stages].sort((a, b) => a.index - b.index).filter((s) => s.approvers.length > 0);
  if (stages.length > 0)
    return stages
      .map((s) => {
        const all = joinNames(s.approvers.map((p) => p.name));
        const names = s.required > 1 && s.required < s.approvers.length ? t('request.nOf', { n: s.required, names: all }) : all;
        const label = s.escalated ? t('request.labelEscalated', { label: stageLabel(s) }) : stageLabel(s);
        return t('status.withLabel', { names, label });
      })
      .join(t('request.then'));
  if (preview.willNotify.length > 0) return joinNames(preview.willNotify.map((w) => w.person.name));
  return null;
}

type Param = PolicyProblemParams[string] | undefined;
const text = (v: Param): string => (Array.isArray(v) ? v.join(', ') : v === null || v === undefined ? '' : String(v));

/**
 * A policy problem in the person's language, from its code and params (never from its English
 * `message`). `keyLabel` names a permission key for people where the page knows it.
 */
export function problemText(p: Pick<PolicyProblem, 'code' | 'params'>, keyLabel: (key: string) => string = (k) => k): string {
  const q = p.params;
  const key = keyLabel(text(q.key));
  const keys = (Array.isArray(q.keys) ? q.keys : q.keys ? [String(q.keys)] : []).map(keyLabel).join(t('people.separator'));
  switch (p.code) {
    case 'requester-inactive':
      return t('request.problem.requester-inactive', { status: text(q.status) });
    case 'invalid-key':
      return t('request.problem.invalid-key', { key, detail: text(q.detail) });
    case 'not-in-catalog':
      return t('request.problem.not-in-catalog', { key, connection: text(q.connection) });
    case 'already-held':
    case 'no-rule':
    case 'catalog-not-requestable':
      return t(`request.problem.${p.code}`, { key });
    case 'rule-forbids':
      return t('request.problem.rule-forbids', { key, rule: text(q.rule) });
    case 'training-missing':
      return t('request.problem.training-missing', { training: text(q.training) });
    case 'tenure-short':
      return q.actualDays === null || q.actualDays === undefined
        ? t('request.problem.tenure-unknown', { required: text(q.requiredDays) })
        : t('request.problem.tenure-short', { required: text(q.requiredDays), actual: text(q.actualDays) });
    case 'sod-conflict': {
      const severity = text(q.severity);
      const known = ['low', 'medium', 'high', 'critical'] as const;
      const risk = (known as readonly string[]).includes(severity) ? t(`risk.${severity as (typeof known)[number]}`) : severity;
      return t('request.problem.sod-conflict', { name: text(q.name), severity: risk });
    }
    case 'no-license-seats':
      return t('request.problem.no-license-seats', { license: text(q.license) });
    case 'no-approver':
      return t('request.problem.no-approver', { stage: text(q.stage), rule: text(q.rule) });
    case 'pending-request':
      return t('request.problem.pending-request', { keys });
    case 'bundle-adds-nothing':
      return t('request.problem.bundle-adds-nothing', { bundle: text(q.bundle) });
    case 'requester-unknown':
    case 'account-unknown':
    case 'account-not-own':
    case 'account-inactive':
    case 'no-permissions':
    case 'justification-required':
    case 'evidence-required':
    case 'duration-invalid':
      return t(`request.problem.${p.code}`);
  }
}

/**
 * What blocks the request and what only warns, in the person's language: the server's problem codes
 * (`problemDetails`, `warningDetails`); licences that need a seat. A server too old to send codes gets
 * its English sentences shown as they are.
 */
export function previewNotes(preview: RequestPreviewResponse, keyLabel?: (key: string) => string): { blocking: string[]; warnings: string[] } {
  const blocking = preview.problemDetails ? preview.problemDetails.map((p) => problemText(p, keyLabel)) : [...preview.problems];
  if (!preview.ok && blocking.length === 0) blocking.push(t('request.blockedGeneric'));
  const sod = preview.warningDetails
    ? preview.warningDetails.map((p) => problemText(p, keyLabel))
    : preview.sodConflicts.map((c) => t('request.sod', { name: c.name, severity: t(`risk.${c.severity}`) }));
  const warnings = [
    ...sod,
    ...preview.licenses
      .filter((l) => l.needsSeat)
      .map((l) => (l.left > 0 ? t('request.license', { name: l.name, left: l.left, seats: l.seats }) : t('request.licenseNone', { name: l.name }))),
  ];
  return { blocking, warnings };
}
