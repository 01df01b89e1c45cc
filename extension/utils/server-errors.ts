/**
 * The server's errors said in the person's language. The server sends a coarse `code`, an English `message`
 * for API clients and, where it knows exactly what failed, a `reason` with `params` (shared/src/server-errors.ts);
 * validation errors carry each issue's kind and bounds. This renders those from the extension's own strings
 * (`serverError.*`, `validation.*`) and never shows the English sentence to someone reading Chinese.
 */
import {
  ADMIN_TASK_STATUSES,
  CAMPAIGN_STATUSES,
  CRM_KINDS,
  FINDING_STATUSES,
  PERSON_STATUSES,
  POLICY_GAIN_KINDS,
  PROPOSAL_STATUSES,
  REQUEST_STATUSES,
  ROLE_ACTIONS,
  type ApiError,
  type RoleAction,
} from '@accesslens/shared';
import { isServerErrorReason, serverErrorParamNames, type ServerErrorParams, type ServerErrorReason } from '@accesslens/shared/server-errors';
import { locale, t, type MessageKey } from './i18n';
import { detailMessage, fieldLabel, pathOf } from './validation';

type ServerErrorKey = Extract<MessageKey, `serverError.${string}`>;

/** The extension's string for each reason: the compiler insists on one per reason. */
const REASON_KEYS: Record<ServerErrorReason, ServerErrorKey> = {
  invalid_credentials: 'serverError.invalidCredentials',
  sign_in_rate_limited: 'serverError.signInRateLimited',
  sso_rate_limited: 'serverError.ssoRateLimited',
  token_missing: 'serverError.sessionExpired',
  session_expired: 'serverError.sessionExpired',
  invalid_json: 'serverError.badRequest',
  payload_too_large: 'serverError.payloadTooLarge',
  csv_too_large: 'serverError.csvTooLarge',
  internal: 'serverError.internal',
  route_not_found: 'serverError.routeNotFound',
  request_not_found: 'serverError.requestNotFound',
  own_request: 'serverError.ownRequest',
  filed_by_you: 'serverError.filedByYou',
  approved_earlier_stage: 'serverError.approvedEarlierStage',
  not_waiting_for_you: 'serverError.notWaitingForYou',
  request_not_pending: 'serverError.requestNotPending',
  awaiting_answer: 'serverError.awaitingAnswer',
  approve_longer: 'serverError.approveLonger',
  cancel_not_yours: 'serverError.cancelNotYours',
  mutation_id_used: 'serverError.mutationIdUsed',
  request_id_taken: 'serverError.requestIdTaken',
  no_approver: 'serverError.noApprover',
  connection_not_found: 'serverError.connectionNotFound',
  no_account: 'serverError.noAccount',
  not_in_catalog: 'serverError.notInCatalog',
  not_requestable: 'serverError.notRequestable',
  already_held: 'serverError.alreadyHeld',
  day_in_future: 'serverError.dayInFuture',
  day_too_old: 'serverError.dayTooOld',
  admins_only: 'serverError.adminsOnly',
  admins_and_auditors_only: 'serverError.adminsAndAuditorsOnly',
  no_such_person: 'serverError.noSuchPerson',
  person_not_found: 'serverError.personNotFound',
  no_such_connection: 'serverError.noSuchConnection',
  bundle_not_found: 'serverError.bundleNotFound',
  extend_request_not_found: 'serverError.extendRequestNotFound',
  previous_request_not_found: 'serverError.previousRequestNotFound',
  task_not_found: 'serverError.taskNotFound',
  revocation_not_found: 'serverError.revocationNotFound',
  finding_not_found: 'serverError.findingNotFound',
  proposal_not_found: 'serverError.proposalNotFound',
  scim_token_not_found: 'serverError.scimTokenNotFound',
  delegation_not_found: 'serverError.delegationNotFound',
  webhook_not_found: 'serverError.webhookNotFound',
  import_not_found: 'serverError.importNotFound',
  page_rule_not_found: 'serverError.pageRuleNotFound',
  kill_switch_not_found: 'serverError.killSwitchNotFound',
  approver_group_not_found: 'serverError.approverGroupNotFound',
  training_not_found: 'serverError.trainingNotFound',
  campaign_not_found: 'serverError.campaignNotFound',
  licence_not_found: 'serverError.licenceNotFound',
  review_item_not_found: 'serverError.reviewItemNotFound',
  no_account_here: 'serverError.noAccountHere',
  not_your_report: 'serverError.notYourReport',
  subject_inactive: 'serverError.subjectInactive',
  subject_no_account: 'serverError.subjectNoAccount',
  subject_already_held: 'serverError.subjectAlreadyHeld',
  extend_not_holder: 'serverError.extendNotHolder',
  extend_not_in_force: 'serverError.extendNotInForce',
  request_again_not_requester: 'serverError.requestAgainNotRequester',
  request_again_not_denied: 'serverError.requestAgainNotDenied',
  answer_not_requester: 'serverError.answerNotRequester',
  not_awaiting_answer: 'serverError.notAwaitingAnswer',
  report_not_requester: 'serverError.reportNotRequester',
  report_not_in_force: 'serverError.reportNotInForce',
  problem_already_reported: 'serverError.problemAlreadyReported',
  task_not_open: 'serverError.taskNotOpen',
  task_completed_meanwhile: 'serverError.taskCompletedMeanwhile',
  crm_not_granted_yet: 'serverError.crmNotGrantedYet',
  crm_still_holds: 'serverError.crmStillHolds',
  crm_still_shows_grant: 'serverError.crmStillShowsGrant',
  crm_user_still_active: 'serverError.crmUserStillActive',
  crm_unreadable: 'serverError.crmUnreadable',
  finding_already_remediated: 'serverError.findingAlreadyRemediated',
  finding_remediated_no_risk: 'serverError.findingRemediatedNoRisk',
  finding_gone: 'serverError.findingGone',
  finding_not_accepted: 'serverError.findingNotAccepted',
  finding_nothing_to_remove: 'serverError.findingNothingToRemove',
  finding_removal_underway: 'serverError.findingRemovalUnderway',
  proposal_not_pending: 'serverError.proposalNotPending',
  proposal_own_approve: 'serverError.proposalOwnApprove',
  proposal_benefits_you: 'serverError.proposalBenefitsYou',
  proposal_own_reject: 'serverError.proposalOwnReject',
  proposal_withdraw_not_yours: 'serverError.proposalWithdrawNotYours',
  policy_changed: 'serverError.policyChanged',
  policy_moved_on: 'serverError.policyMovedOn',
  own_roles: 'serverError.ownRoles',
  own_status: 'serverError.ownStatus',
  email_taken: 'serverError.emailTaken',
  group_in_rules: 'serverError.groupInRules',
  group_owns_entry: 'serverError.groupOwnsEntry',
  group_owns_entries: 'serverError.groupOwnsEntries',
  scim_token_revoked: 'serverError.scimTokenRevoked',
  connection_id_taken: 'serverError.connectionIdTaken',
  connection_disabled: 'serverError.connectionDisabled',
  connection_no_credentials: 'serverError.connectionNoCredentials',
  training_exists: 'serverError.trainingExists',
  training_completed_one: 'serverError.trainingCompletedOne',
  training_completed_many: 'serverError.trainingCompletedMany',
  training_required_by_rules: 'serverError.trainingRequiredByRules',
  training_required_by_entry: 'serverError.trainingRequiredByEntry',
  training_required_by_entries: 'serverError.trainingRequiredByEntries',
  licence_consumed_one: 'serverError.licenceConsumedOne',
  licence_consumed_many: 'serverError.licenceConsumedMany',
  no_seat: 'serverError.noSeat',
  delegation_end_not_yours: 'serverError.delegationEndNotYours',
  delegation_ended: 'serverError.delegationEnded',
  delegation_overlap: 'serverError.delegationOverlap',
  campaign_not_open: 'serverError.campaignNotOpen',
  campaign_closed: 'serverError.campaignClosed',
  review_item_not_yours: 'serverError.reviewItemNotYours',
  review_own_access: 'serverError.reviewOwnAccess',
  review_item_decided: 'serverError.reviewItemDecided',
  extension_no_start: 'serverError.extensionNoStart',
  grant_on_other_connection: 'serverError.grantOnOtherConnection',
  starts_in_past: 'serverError.startsInPast',
  starts_too_late: 'serverError.startsTooLate',
  bundle_is_profile: 'serverError.bundleIsProfile',
  side_required: 'serverError.sideRequired',
  webhook_not_signed: 'serverError.webhookNotSigned',
  automatic_change_unsupported: 'serverError.automaticChangeUnsupported',
  expiry_in_past: 'serverError.expiryInPast',
  expiry_too_late: 'serverError.expiryTooLate',
  due_in_past: 'serverError.dueInPast',
  due_too_late: 'serverError.dueTooLate',
  active_person_not_found: 'serverError.activePersonNotFound',
  decided_twice: 'serverError.decidedTwice',
  delegate_self: 'serverError.delegateSelf',
  ends_in_past: 'serverError.endsInPast',
  delegate_inactive: 'serverError.delegateInactive',
  cursor_invalid: 'serverError.cursorInvalid',
  manager_cycle: 'serverError.managerCycle',
  host_not_of_connection: 'serverError.hostNotOfConnection',
  connection_has_no_hosts: 'serverError.connectionHasNoHosts',
  https_only: 'serverError.httpsOnly',
  not_crm_host: 'serverError.notCrmHost',
  bundle_unknown: 'serverError.bundleUnknown',
  bundle_other_connection: 'serverError.bundleOtherConnection',
  approver_group_id_not_found: 'serverError.approverGroupIdNotFound',
};

/** Errors without a reason (older servers, other routes): said by their code. */
const CODE_KEYS: Record<string, ServerErrorKey> = {
  invalid_credentials: 'serverError.invalidCredentials',
  unauthenticated: 'serverError.sessionExpired',
  forbidden: 'serverError.forbidden',
  not_found: 'serverError.notFound',
  conflict: 'serverError.conflict',
  rate_limited: 'serverError.rateLimited',
  invalid_json: 'serverError.badRequest',
  bad_request: 'serverError.badRequest',
  payload_too_large: 'serverError.payloadTooLarge',
  csv_too_large: 'serverError.csvTooLarge',
  internal: 'serverError.internal',
  policy_blocked: 'serverError.policyBlocked',
  duplicate_request: 'serverError.duplicateRequest',
};

/** A message whose placeholders are given at run time (the reason's params, checked against the string by the tests). */
const tAny = t as (key: MessageKey, params?: Record<string, string | number>) => string;

/** Each status-like param, the shared list of its values and the prefix of their strings (said in the person's language). */
const LISTED_PARAMS: Record<string, { values: readonly string[]; key: (value: string) => MessageKey }> = {
  status: { values: REQUEST_STATUSES, key: (v) => `requestStatus.${v as (typeof REQUEST_STATUSES)[number]}` },
  taskStatus: { values: ADMIN_TASK_STATUSES, key: (v) => `taskStatus.${v as (typeof ADMIN_TASK_STATUSES)[number]}` },
  findingStatus: { values: FINDING_STATUSES, key: (v) => `console.status.${v as (typeof FINDING_STATUSES)[number]}` },
  campaignStatus: { values: CAMPAIGN_STATUSES, key: (v) => `console.campaign.${v as (typeof CAMPAIGN_STATUSES)[number]}` },
  proposalStatus: { values: PROPOSAL_STATUSES, key: (v) => `console.proposal.${v as (typeof PROPOSAL_STATUSES)[number]}` },
  personStatus: { values: PERSON_STATUSES, key: (v) => `console.personStatus.${v as (typeof PERSON_STATUSES)[number]}` },
  action: { values: Object.keys(ROLE_ACTIONS), key: (v) => `roleAction.${v as RoleAction}` },
  crm: { values: CRM_KINDS, key: (v) => `crm.${v as (typeof CRM_KINDS)[number]}` },
};

/**
 * Params as the person reads them: a status (of a request, task, finding, campaign, proposal or person), a
 * role check's action and a CRM's name in their language, and a policy change's gains each said in it. Other params are data
 * (names, ids, the CRM's own words) and stay as sent.
 */
function localParams(params: ServerErrorParams): ServerErrorParams {
  const out = { ...params };
  for (const [name, listed] of Object.entries(LISTED_PARAMS)) {
    const value = out[name];
    if (typeof value === 'string' && listed.values.includes(value)) out[name] = tAny(listed.key(value));
  }
  if (typeof out.gains === 'string')
    out.gains = out.gains
      .split(', ')
      .map((g) => ((POLICY_GAIN_KINDS as readonly string[]).includes(g) ? t(`policyGain.${g as (typeof POLICY_GAIN_KINDS)[number]}`) : g))
      .join(t('people.separator'));
  return out;
}

/**
 * A server error as a sentence in the browser's language. `status`: the HTTP status it came with; none for a
 * mutation the server rejected inside a 200 answer.
 */
export function serverErrorText(error: ApiError['error'], status?: number): string {
  if (isServerErrorReason(error.reason)) {
    // Exactly the reason's params, in the order `t()` numbers them: a newer server's extra ones are left out.
    const given = localParams(error.params ?? {});
    const params = Object.fromEntries(serverErrorParamNames(error.reason).map((n) => [n, given[n] ?? '']));
    return tAny(REASON_KEYS[error.reason], params);
  }
  if (error.code === 'invalid_input') {
    const first = error.issues?.find((i) => i.field === error.field) ?? error.issues?.[0];
    if (first?.detail) return detailMessage(first.detail, pathOf(first.field));
    return t('validation.invalid', { field: fieldLabel(pathOf(error.field ?? '')) });
  }
  const key = Object.hasOwn(CODE_KEYS, error.code) ? CODE_KEYS[error.code] : undefined;
  if (key) return tAny(key);
  // A code this extension does not know: English readers get the server's own sentence; others a sentence
  // in their language with the status.
  if (locale() === 'en' && error.message) return error.message;
  return status === undefined ? t('serverError.refused', { code: error.code }) : t('error.server', { status });
}
