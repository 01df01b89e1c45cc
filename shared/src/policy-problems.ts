/**
 * Policy problems as codes with parameters: what blocks a request (or only warns), said once here. The
 * server sends `{ code, params, message }` (the preview's `problemDetails`/`warningDetails`, a
 * `policy_blocked` error's `problems`); clients render the code and params in their language, and
 * `message` is the English sentence for API clients. Nothing parses the sentence.
 *
 * Plain data (no zod): safe to import from content scripts.
 */

export const POLICY_PROBLEM_CODES = [
  /** The requester is not in the directory. */
  'requester-unknown',
  /** The CRM account is unknown. */
  'account-unknown',
  /** The account belongs to someone else. */
  'account-not-own',
  /** The requester is suspended or departed. params: status */
  'requester-inactive',
  /** The CRM account is not active. */
  'account-inactive',
  /** No permission named (and no bundle). */
  'no-permissions',
  /** A malformed permission key. params: key, detail */
  'invalid-key',
  /** The key is not in the connection's catalog. params: key, connection */
  'not-in-catalog',
  /** The account holds it already. params: key */
  'already-held',
  /** No request rule covers the key. params: key */
  'no-rule',
  /** The rule covering the key does not allow requesting it. params: key, rule */
  'rule-forbids',
  /** The catalog marks the key as not requestable. params: key */
  'catalog-not-requestable',
  /** A training is not completed. params: training, keys */
  'training-missing',
  /** Not employed long enough. params: requiredDays, actualDays (null = hire date unknown), keys */
  'tenure-short',
  /** The grant would create a separation-of-duties conflict (a problem when the policy blocks them, else a warning). params: ruleId, name, severity */
  'sod-conflict',
  /** No seat of a license is left. params: licenseId, license */
  'no-license-seats',
  /** A stage resolves to nobody eligible, and its rule's fallback too. params: stage, rule */
  'no-approver',
  /** A justification is required. */
  'justification-required',
  /** An evidence link (ticket, document) is required. */
  'evidence-required',
  /** The duration is not a positive number of days. */
  'duration-invalid',
  /** An open request of the same requester already asks for some of these keys. params: requestId, keys */
  'pending-request',
  /** The bundle adds nothing beyond what the account holds. params: bundle */
  'bundle-adds-nothing',
] as const;
export type PolicyProblemCode = (typeof POLICY_PROBLEM_CODES)[number];

export type PolicyProblemParam = string | number | null | string[];
export type PolicyProblemParams = Record<string, PolicyProblemParam>;

/** One problem (or warning) of a request under the policy. */
export interface PolicyProblem {
  code: PolicyProblemCode;
  params: PolicyProblemParams;
  /** The English sentence (for API clients and logs); clients render `code` and `params` instead. */
  message: string;
}

const s = (v: PolicyProblemParam | undefined): string => (Array.isArray(v) ? v.join(', ') : v === null || v === undefined ? '' : String(v));

/** The English sentence for a problem code and its params. */
export function policyProblemMessage(code: PolicyProblemCode, p: PolicyProblemParams = {}): string {
  switch (code) {
    case 'requester-unknown':
      return 'requester is not in the directory';
    case 'account-unknown':
      return 'account is unknown';
    case 'account-not-own':
      return 'the account belongs to someone else';
    case 'requester-inactive':
      return `requester is ${s(p.status)}`;
    case 'account-inactive':
      return 'the account is not active';
    case 'no-permissions':
      return 'name at least one permission';
    case 'invalid-key':
      return `${s(p.key)}: ${s(p.detail)}`;
    case 'not-in-catalog':
      return `${s(p.key)}: not in the permission catalog of ${s(p.connection)}`;
    case 'already-held':
      return `${s(p.key)}: already held`;
    case 'no-rule':
      return `${s(p.key)}: no request rule covers this permission`;
    case 'rule-forbids':
      return `${s(p.key)}: request rule "${s(p.rule)}" does not allow requesting it`;
    case 'catalog-not-requestable':
      return `${s(p.key)}: the catalog marks it as not requestable`;
    case 'training-missing':
      return `prerequisite missing: training "${s(p.training)}" not completed`;
    case 'tenure-short':
      return p.actualDays === null || p.actualDays === undefined
        ? `prerequisite missing: tenure unknown (needs ${s(p.requiredDays)} days)`
        : `prerequisite missing: tenure ${s(p.actualDays)} days, needs ${s(p.requiredDays)}`;
    case 'sod-conflict':
      return `would create separation-of-duties conflict "${s(p.name)}"`;
    case 'no-license-seats':
      return `no ${s(p.license)} license seats left`;
    case 'no-approver':
      return `${s(p.stage)} resolves to nobody eligible, and the fallback of rule "${s(p.rule)}" too`;
    case 'justification-required':
      return 'a justification is required';
    case 'evidence-required':
      return 'evidence (a ticket or document link) is required';
    case 'duration-invalid':
      return 'duration must be at least one day';
    case 'pending-request':
      return `you already have a pending request (${s(p.requestId)}) for ${s(p.keys)}`;
    case 'bundle-adds-nothing':
      return `${s(p.bundle)} adds nothing you do not already hold`;
  }
}

/** A problem with its English message. */
export function policyProblem(code: PolicyProblemCode, params: PolicyProblemParams = {}): PolicyProblem {
  return { code, params, message: policyProblemMessage(code, params) };
}
