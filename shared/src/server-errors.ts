/**
 * Server errors as reasons with parameters, said once here. The HTTP error shape keeps its coarse `code`
 * (`forbidden`, `conflict`…) and its English `message` for API clients; beside them the server sends the
 * `reason` below and its `params`, and a client that speaks to people renders those from its own strings
 * (the extension: `serverError.<reason>` in en and zh-CN). Nothing parses the English sentence.
 *
 * Validation errors (`invalid_input`) carry, per issue, the zod issue's kind and bounds (`IssueDetail`), so a
 * client can say "Justification is required" in its own language too.
 *
 * Plain data (zod for types only): safe to import from content scripts.
 */
import type { z } from 'zod';

/** Each reason's English sentence; `{name}` is a parameter. */
export const SERVER_ERRORS = {
  /** Sign-in: unknown email, wrong password or an inactive person (one answer for all three). */
  invalid_credentials: 'The email or password is incorrect.',
  sign_in_rate_limited: 'Too many failed sign-in attempts. Try again in {seconds} seconds.',
  sso_rate_limited: 'Too many sign-ins were started from this address. Try again in {seconds} seconds.',
  token_missing: 'Missing bearer token.',
  session_expired: 'The session is invalid or has expired. Sign in again.',
  invalid_json: 'The request body is not valid JSON.',
  payload_too_large: 'The request body is larger than 1 MB.',
  csv_too_large: 'The CSV file is larger than 64 MB.',
  internal: 'Something went wrong on the server.',
  route_not_found: 'No route for {method} {path}.',
  request_not_found: 'There is no such request.',
  own_request: 'You cannot decide your own request.',
  filed_by_you: 'You cannot decide a request you filed.',
  approved_earlier_stage: 'You approved an earlier stage of this request: another approver must decide this one.',
  not_waiting_for_you: 'This request is not waiting for you.',
  /** status: the request's status (`REQUEST_STATUSES`). */
  request_not_pending: 'This request is no longer pending (it is {status}).',
  awaiting_answer: 'This request is waiting for the requester to answer a question.',
  approve_longer: 'You can shorten the grant but not lengthen it: at most {days} days.',
  cancel_not_yours: 'Only the requester can cancel a request.',
  mutation_id_used: 'This mutation id was already used.',
  request_id_taken: 'A request with this id already exists.',
  no_approver: 'Nobody can approve this request under the current policy.',
  connection_not_found: 'There is no CRM connection "{connectionId}".',
  /** connection: the connection's name. */
  no_account: 'You have no active account on {connection}.',
  not_in_catalog: '{key} is not in the permission catalog of {connection}.',
  not_requestable: '{key} cannot be requested; ask an administrator.',
  already_held: 'You already have {key}.',
  day_in_future: 'The day is in the future.',
  day_too_old: 'The day is more than {days} days ago.',

  // ---- Roles (auth/require-role.ts): `action` is a key of ROLE_ACTIONS, said in the reader's language. ----
  admins_only: 'Only administrators can {action}.',
  admins_and_auditors_only: 'Only administrators and auditors can {action}.',

  // ---- Things that are not there ----
  no_such_person: 'There is no such person.',
  person_not_found: 'There is no person "{personId}".',
  no_such_connection: 'There is no such connection.',
  /** connection: the connection's name. */
  bundle_not_found: 'There is no bundle "{bundleId}" in {connection}.',
  extend_request_not_found: 'There is no such request to extend.',
  previous_request_not_found: 'There is no such request to request again.',
  task_not_found: 'There is no such task.',
  revocation_not_found: 'There is no revocation for this task.',
  finding_not_found: 'There is no such finding.',
  proposal_not_found: 'There is no such policy proposal.',
  scim_token_not_found: 'There is no such SCIM token.',
  delegation_not_found: 'There is no such delegation.',
  webhook_not_found: 'There is no such webhook.',
  import_not_found: 'There is no such import.',
  page_rule_not_found: 'There is no page rule "{id}".',
  kill_switch_not_found: 'There is no kill switch "{id}".',
  approver_group_not_found: 'There is no such approver group.',
  training_not_found: 'There is no such training.',
  campaign_not_found: 'There is no such review campaign.',
  licence_not_found: 'There is no such licence.',
  review_item_not_found: 'There is no such review item.',

  // ---- Requests: on behalf of someone, extending, requesting again, answering, reporting ----
  no_account_here: 'You have no active account on this connection.',
  not_your_report: 'You can request access only for yourself or your direct reports; {name} does not report to you.',
  /** personStatus: the person's status (`PERSON_STATUSES`). */
  subject_inactive: '{name} is {personStatus}.',
  /** connection: the connection's name. */
  subject_no_account: '{name} has no active account on {connection}.',
  subject_already_held: '{name} already has {key}.',
  extend_not_holder: 'Only the holder of a grant can extend it.',
  /** status: the request's status (`REQUEST_STATUSES`). */
  extend_not_in_force: 'Only a grant in force can be extended (this request is {status}).',
  request_again_not_requester: 'Only its requester can request it again.',
  request_again_not_denied: 'Only a denied request can be requested again (this one is {status}).',
  answer_not_requester: 'Only the requester can answer a question about this request.',
  not_awaiting_answer: 'This request is not waiting for an answer (it is {status}).',
  report_not_requester: 'Only the requester can report a problem with this grant.',
  report_not_in_force: 'Only a grant in force can be reported (this request is {status}).',
  problem_already_reported: 'A problem with this grant is already reported and waiting for an administrator.',

  // ---- Admin tasks the CRM must confirm. `message`: the CRM's own words; `username`: the CRM user. ----
  /** taskStatus: the task's status (`ADMIN_TASK_STATUSES`). */
  task_not_open: 'This task is already {taskStatus}.',
  task_completed_meanwhile: 'This task was completed meanwhile.',
  /** permissions: the permission keys the CRM does not show yet, joined with ", ". */
  crm_not_granted_yet: 'The CRM does not show {username} holding {permissions} yet: grant it there first, then mark the task done.',
  /** assignments: what the CRM still shows, as it names it, joined with ", ". */
  crm_still_holds: 'The CRM still shows {assignments} for {username}: remove it there first, then mark the task done.',
  crm_still_shows_grant: 'The CRM still shows the grant to {username}: remove it there first, then mark the task done.',
  crm_user_still_active: 'The CRM still shows {username} as active: deactivate the user there first, then mark the task done.',
  crm_unreadable: 'AccessLens could not read the CRM to confirm this ({message}). Try again shortly.',

  // ---- Findings ----
  finding_already_remediated: 'This finding is already remediated.',
  finding_remediated_no_risk: 'This finding is remediated: there is no risk left to accept.',
  finding_gone: 'This finding is no longer present: its cause was removed.',
  /** findingStatus: the finding's status (`FINDING_STATUSES`). */
  finding_not_accepted: 'Only an accepted finding can be reopened (this one is {findingStatus}).',
  finding_nothing_to_remove: 'Nothing this account holds gives it what the finding is about: there is nothing to take out.',
  finding_removal_underway: 'What this finding is about is already being taken out.',

  // ---- Policy proposals (four eyes) ----
  /** proposalStatus: the proposal's status (`PROPOSAL_STATUSES`). */
  proposal_not_pending: 'This proposal is already {proposalStatus}.',
  proposal_own_approve: 'You proposed this change: another administrator must approve it.',
  /** gains: the kinds of gain (`POLICY_GAIN_KINDS`) joined with ", ". */
  proposal_benefits_you: 'This change gives you more through your own job ({gains}): an administrator it gives nothing must approve it.',
  proposal_own_reject: 'You proposed this change: withdraw it instead.',
  proposal_withdraw_not_yours: 'Only the administrator who proposed a change can withdraw it.',
  policy_changed: 'The policy changed since version {baseVersion}: it is now version {version}. Reload it and make your change again.',
  policy_moved_on:
    'The policy moved on to version {version} since this change was proposed (on version {baseVersion}): it must be proposed again on top of it.',

  // ---- Directory, connections, trainings, licences ----
  own_roles: 'You cannot change your own roles: ask another administrator.',
  own_status: 'You cannot change your own status: ask another administrator.',
  email_taken: '{email} is already the email of another person.',
  /** rules: the request rules' names, quoted and joined with ", ". */
  group_in_rules: 'The group "{name}" is named by request rules {rules}: change those first.',
  group_owns_entry: 'The group "{name}" is the owner of 1 catalog entry: change it first.',
  group_owns_entries: 'The group "{name}" is the owner of {count} catalog entries: change them first.',
  scim_token_revoked: 'This SCIM token is already revoked.',
  connection_id_taken: 'A connection with id "{connectionId}" already exists.',
  connection_disabled: 'The connection {connection} is disabled.',
  connection_no_credentials: 'The connection {connection} has no credentials: add them first.',
  training_exists: 'The training "{trainingId}" exists.',
  training_completed_one: '1 person completed "{trainingId}": remove their completion first.',
  training_completed_many: '{count} people completed "{trainingId}": remove their completions first.',
  /** rules: the request rules' names joined with ", ". */
  training_required_by_rules: 'Request rules require "{trainingId}": {rules}.',
  training_required_by_entry: '1 catalog entry requires "{trainingId}".',
  training_required_by_entries: '{count} catalog entries require "{trainingId}".',
  licence_consumed_one: '1 catalog entry consumes "{licence}": change it first.',
  licence_consumed_many: '{count} catalog entries consume "{licence}": change them first.',
  no_seat: 'This account holds no seat of {licence}.',

  // ---- Delegations ----
  delegation_end_not_yours: 'Only the approver who set it (or an administrator) can end a delegation.',
  delegation_ended: 'This delegation has already ended.',
  delegation_overlap: 'Another delegation ({delegationId}) covers part of this period: end it first.',

  // ---- Access reviews ----
  /** campaignStatus: the campaign's status (`CAMPAIGN_STATUSES`). */
  campaign_not_open: 'This campaign is already {campaignStatus}.',
  campaign_closed: 'The campaign "{campaign}" is {campaignStatus}.',
  review_item_not_yours: 'This item is not yours to review.',
  review_own_access: 'Nobody reviews their own access.',
  review_item_decided: 'This item is already decided.',

  // ---- Bad input a schema cannot see (400 invalid_input, with the field) ----
  extension_no_start: 'An extension continues the grant: it has no start date.',
  grant_on_other_connection: 'The grant is on another connection.',
  starts_in_past: 'The start date must be in the future.',
  starts_too_late: 'The start date must be at most a year ahead.',
  bundle_is_profile: "{bundle} is a profile, which replaces the user's whole profile: request the permissions it adds instead.",
  side_required: 'Name the side of the conflict to take out (left or right).',
  webhook_not_signed: '{platform} webhooks are not signed.',
  automatic_change_unsupported: 'Automatic change applies only to Zoho and Fxiaoke connections.',
  expiry_in_past: 'The expiry must be in the future.',
  expiry_too_late: 'The expiry must be at most {days} days ahead.',
  due_in_past: 'The due date must be in the future.',
  due_too_late: 'The due date must be at most a year ahead.',
  active_person_not_found: 'There is no active person "{personId}".',
  decided_twice: 'This item is decided twice in one batch.',
  delegate_self: 'The delegate must be someone else.',
  ends_in_past: 'The end must be in the future.',
  delegate_inactive: 'The delegate is not active.',
  cursor_invalid: 'The cursor is not one this server gave out.',
  /** cycle: the people's emails, joined with " → ". */
  manager_cycle: 'This would make a manager cycle: {cycle}.',
  host_not_of_connection: 'This is not a host of this connection ({hosts}); add it to the connection first.',
  connection_has_no_hosts: 'This is not a host of this connection (it has none); add it to the connection first.',
  /** crm: the CRM's kind (`CRM_KINDS`). */
  https_only: 'The protocol must be https: {crm} is served over HTTPS only.',
  not_crm_host: 'This is not a {crm} host.',
  bundle_unknown: 'There is no bundle "{bundleId}".',
  bundle_other_connection: 'The bundle "{bundleId}" belongs to connection "{connectionId}", not "{expected}".',
  approver_group_id_not_found: 'There is no approver group "{groupId}".',
} as const;

/**
 * What a role check guards (`admins_only`, `admins_and_auditors_only`: the `action` param), defined once; the
 * extension says each in its language (`roleAction.<key>`).
 */
export const ROLE_ACTIONS = {
  see_revocations: 'see revocations',
  work_on_admin_tasks: 'work on admin tasks',
  see_peoples_access: "see people's access",
  read_policy: 'read the policy',
  change_policy: 'change the policy',
  see_policy_proposals: 'see policy proposals',
  propose_policy_changes: 'propose policy changes',
  approve_policy_changes: 'approve policy changes',
  reject_policy_changes: 'reject policy changes',
  withdraw_policy_changes: 'withdraw policy changes',
  manage_directory: 'manage the directory',
  manage_scim_tokens: 'manage SCIM tokens',
  see_licence_seats: 'see licence seats',
  reclaim_licence_seats: 'reclaim licence seats',
  manage_connections: 'manage CRM connections',
  manage_page_rules: 'manage page rules',
  manage_kill_switches: 'manage kill switches',
  manage_approver_groups: 'manage approver groups',
  manage_trainings: 'manage trainings',
  manage_licences: 'manage licences',
  read_audit_log: 'read the audit log',
  export_audit_log: 'export the audit log',
  verify_audit_log: 'verify the audit log',
  see_review_campaigns: 'see review campaigns',
  start_access_reviews: 'start access reviews',
  cancel_access_reviews: 'cancel access reviews',
  read_review_reports: 'read review reports',
  manage_webhooks: 'manage webhooks',
  read_notification_outbox: 'read the notification outbox',
  read_findings: 'read findings',
  export_findings: 'export findings',
  see_findings_on_user_pages: 'see findings on CRM user pages',
  accept_risk: 'accept a risk',
  reopen_finding: 'reopen a finding',
  remediate_finding: 'remediate a finding',
  set_others_delegate: 'set a delegate for someone else',
  see_others_delegations: "see other people's delegations",
} as const;

export type RoleAction = keyof typeof ROLE_ACTIONS;

export function isRoleAction(action: unknown): action is RoleAction {
  return typeof action === 'string' && Object.hasOwn(ROLE_ACTIONS, action);
}

export type ServerErrorReason = keyof typeof SERVER_ERRORS;
export type ServerErrorParams = Record<string, string | number>;
export const SERVER_ERROR_REASONS = Object.keys(SERVER_ERRORS) as ServerErrorReason[];

export function isServerErrorReason(reason: unknown): reason is ServerErrorReason {
  return typeof reason === 'string' && Object.hasOwn(SERVER_ERRORS, reason);
}

/** The `{name}` parameters a reason's sentence takes. */
export function serverErrorParamNames(reason: ServerErrorReason): string[] {
  return [...SERVER_ERRORS[reason].matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

/** The English sentence for a reason and its params (a missing param stays as `{name}`). */
export function serverErrorMessage(reason: ServerErrorReason, params: ServerErrorParams = {}): string {
  return SERVER_ERRORS[reason].replace(/\{(\w+)\}/g, (whole, name: string) => {
    if (!Object.hasOwn(params, name)) return whole;
    const value = params[name];
    // A role check's action is sent as its key and said as its phrase.
    return name === 'action' && isRoleAction(value) ? ROLE_ACTIONS[value] : String(value);
  });
}

/**
 * What a validation issue was about, from zod's issue: its kind (`too_small`, `too_big`, `invalid_format`,
 * `invalid_type`, `invalid_value`, `custom`…), what it measured (`origin`: string, array, number…) and its
 * bound or format. Enough for a client to say it in its own words.
 */
export interface IssueDetail {
  code: string;
  origin?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
  expected?: string;
  /** Nothing given where something is needed (invalid_type of undefined, or a custom check of kind required). */
  missing?: boolean;
}

/** The kind and bounds of a zod issue (its English message aside), for clients that say it in their own words. */
export function detailOf(issue: z.core.$ZodIssue): IssueDetail {
  // A custom check says what kind of check it is in its params (`{ kind: 'choice' | 'required' }`).
  const kind = issue.code === 'custom' ? (issue.params as { kind?: unknown } | undefined)?.kind : undefined;
  if (kind === 'choice') return { code: 'invalid_value' };
  if (kind === 'required') return { code: 'custom', missing: true };
  const detail: IssueDetail = { code: issue.code };
  if ('origin' in issue && typeof issue.origin === 'string') detail.origin = issue.origin;
  if (issue.code === 'too_small' && Number.isFinite(Number(issue.minimum))) detail.minimum = Number(issue.minimum);
  if (issue.code === 'too_big' && Number.isFinite(Number(issue.maximum))) detail.maximum = Number(issue.maximum);
  if (issue.code === 'invalid_format') detail.format = issue.format;
  if (issue.code === 'invalid_type') {
    detail.expected = issue.expected;
    // zod leaves the input out of issues (reportInput is off); its own wording still says "received undefined".
    if (/received undefined$/.test(issue.message)) detail.missing = true;
  }
  return detail;
}
