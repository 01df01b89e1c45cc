/** How a request preview reads to people (the request form), and the evidence link check. */
import type { RequestPreviewResponse } from '@accesslens/shared';
import { joinNames, t} from './i18n';
import { stageLabel } from './requests';

/** An http(s) link, or the reason it is not one. */
export function evidenceProblem(value: string, required: boolean): string | null {
  const v = value.trim();
  if (!v) return required ? t('request.evidenceMissing') : null;
  try {
    const url = new URL(v);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname) return null;
  } catch {
    // not a URL
  }
  return t('request.evidenceInvalid');
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

type Prerequisite = RequestPreviewResponse['missingPrerequisites'][number];

function prerequisiteText(p: Prerequisite): string {
  if (p.kind === 'training') return p.training ? t('request.training', { training: p.training }) : p.message;
  if (p.requiredDays === undefined) return p.message;
  return p.actualDays === null || p.actualDays === undefined
    ? t('request.tenureUnknown', { required: p.requiredDays })
    : t('request.tenure', { required: p.requiredDays, actual: p.actualDays });
}

/** What blocks the request (localized where the server gave structure), and what only warns. */
export function previewNotes(preview: RequestPreviewResponse): { blocking: string[]; warnings: string[] } {
  const prereqs = preview.missingPrerequisites;
  const used = new Set<Prerequisite>();
  const blocking = preview.problems.map((problem) => {
    const p = prereqs.find((x) => !used.has(x) && (x.message === problem || problem.includes(x.message) || x.message.includes(problem)));
    if (!p) return problem;
    used.add(p);
    return prerequisiteText(p);
  });
  // Prerequisites the server did not list as problems still block in its policy: say so.
  for (const p of prereqs) if (!used.has(p)) blocking.push(prerequisiteText(p));
  if (!preview.ok && blocking.length === 0) blocking.push(t('request.blockedGeneric'));
  const warnings = [
    ...preview.sodConflicts.map((c) => t('request.sod', { name: c.name, severity: t(`risk.${c.severity}`) })),
    ...preview.licenses
      .filter((l) => l.needsSeat)
      .map((l) => (l.left > 0 ? t('request.license', { name: l.name, left: l.left, seats: l.seats }) : t('request.licenseNone', { name: l.name }))),
  ];
  return { blocking, warnings };
}
