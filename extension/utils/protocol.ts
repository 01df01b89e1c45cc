/**
 * What the background answers to each message (the requests themselves are the shared zod schemas in
 * `@accesslens/shared` messages.ts). Plain data only: it crosses `runtime.sendMessage`.
 */
import type {
  AccessRequest,
  AuthMethodsResponse,
  BundleKind,
  PersonRef,
  PageVerdict,
  Person,
  PolicyProblem,
  PopupState,
  RequestPreviewResponse,
  SyncStatus,
  UiError,
} from '@accesslens/shared';
import type { FindingKind, LiveVerdict, Risk } from '@accesslens/shared';
import type { KillSwitch, PageRule } from '@accesslens/shared/crm';
import type { CrmKind } from '@accesslens/shared/constants';

/** A mutation the server refused for good; the optimistic change it made was dropped. */
export interface MutationFailure {
  mutationId: string;
  name: string;
  requestId: string;
  permissions: string[];
  error: UiError;
  /** policy_blocked: the problems as codes with params (rendered in the person's language). */
  problems?: PolicyProblem[];
  at: string;
}

export interface PageDecideAnswer {
  signedIn: boolean;
  verdict: PageVerdict | null;
  me: { name: string } | null;
  sync: SyncStatus;
  /** Names of the people the verdict refers to (approvers, deciders), by person id. */
  names: Record<string, string>;
  /** Recently rejected requests on this CRM connection. */
  failures: MutationFailure[];
  /** For each of the page's permissions: whether it may be requested, and for how long (catalog caps). */
  keys: Record<string, { requestable: boolean; durationChoices: number[] }>;
  /** The admins' page rules for this host: the content script reads its pages again with them. */
  rules: PageRule[];
  /** Set when a kill switch pauses AccessLens on this CRM (or page kind) for the installed version. */
  paused: Pick<KillSwitch, 'fixedIn' | 'reason'> | null;
  /**
   * Whole bundles the CRM models (permission sets, roles… never a profile) that would grant something
   * missing on this page, with what they add beyond what the viewer holds among this page's permissions
   * (`adds`) and how many permissions they grant in all (`total`). The server's preview says the rest.
   */
  bundles?: OfferedBundle[];
  /** My requests about this page's permissions, newest first, every status (history stays after expiry). */
  history?: AccessRequest[];
  /** How many days before a grant ends the overlay reminds (the policy's default). */
  expiryReminderDays?: number;
  /** When AccessLens last read the page's CRM connection successfully (its last good import); null = never. */
  lastImportAt?: string | null;
}

/** Why the CRM's current-user API gave no answer: the page (reloaded, its refusal watched for) answers instead. */
export type LiveUnavailable = 'no-session' | 'refused' | 'unreachable' | 'unsupported';

/** The CRM's own answer after a grant (`page.check`, or the Dynamics page's same-origin Web API). */
export interface LiveCheckAnswer {
  verdict: LiveVerdict | null;
  /** Set when verdict is null. */
  unavailable: LiveUnavailable | null;
}

export interface OfferedBundle {
  id: string;
  name: string;
  kind: BundleKind;
  adds: string[];
  total: number;
}

/** A manager's direct reports (to file a request on behalf of one). */
export interface ReportsAnswer {
  people: PersonRef[];
}

export interface PageRulesAnswer {
  rules: PageRule[];
}

/**
 * The server's preview of a request, or null when it could not be asked: `offline` (unreachable,
 * timed out, failing) or `error` (it refused to preview); the form then predicts locally.
 */
export interface PreviewAnswer {
  preview: RequestPreviewResponse | null;
  offline: boolean;
  error: UiError | null;
}

export interface RequestAnswer {
  request: AccessRequest;
}

export interface DecisionAnswer extends RequestAnswer {
  /** The queued decision's id: what "Undo" takes back while it is held. */
  mutationId: string;
}

/** One decision of mine on someone else's request ("My decisions" in the popup). */
export interface HistoryItem {
  requestId: string;
  outcome: 'approve' | 'deny' | 'needs-info';
  at: string;
  /** The reason or question. */
  text: string | null;
  request: AccessRequest;
}

export type PopupStateAnswer = PopupState & { failures: MutationFailure[]; history?: HistoryItem[] };

export interface AuthStatusAnswer {
  signedIn: boolean;
  serverUrl: string | null;
  me: Person | null;
  sync: SyncStatus;
}

export interface SignInAnswer {
  person: Person;
}

/** How the server at a URL lets people sign in (password; the company's SSO and its name). */
export interface AuthMethodsAnswer {
  methods: AuthMethodsResponse;
}

export interface SyncAnswer {
  sync: SyncStatus;
}

/** Posted by the background on `overlay` and `popup` ports. */
export type PortMessage = { type: 'slice.changed' };

/**
 * Posted by a UI on its port while it is open. Firefox runs the background as an event page that it
 * suspends after 30 s without events (pref extensions.background.idle.timeout), open ports and a streaming
 * fetch or not; a port message is an event, so this keeps the live stream up while someone is looking.
 * A third of Firefox's idle time leaves room for late timers.
 */
export type PortKeepalive = { type: 'keepalive' };
export const PORT_KEEPALIVE_MS = 10_000;

export const PORT_NAMES = ['overlay', 'popup'] as const;
export type PortName = (typeof PORT_NAMES)[number];

export type { UiError };

export const DEFAULT_SERVER_URL = 'http://localhost:8787';

/** What the settings page shows about CRM connections. */
export interface ConnectionsAnswer {
  connections: { id: string; kind: CrmKind; name: string; tenant: string | null }[];
  /** In-house CRM hosts, and whether this browser lets AccessLens run on them. */
  inHouse: { connectionId: string; connectionName: string; host: string; origin: string; allowed: boolean }[];
  chosen: Partial<Record<CrmKind, string>>;
}

// ---------- flags on CRM user pages (administrators) ----------

/** One open finding of a flagged user, already in words (the content script only draws it). */
export interface FlagFinding {
  id: string;
  kind: FindingKind;
  kindLabel: string;
  severity: Risk;
  /** An accepted risk whose acceptance ended. */
  reopened: boolean;
  /** The bundles and permissions involved, by their names. */
  permissions: string[];
  /** "held by 2 of 38 peers in Sales / Account Executive", "not used for 97 days"… */
  evidence: string[];
  /** A separation-of-duties conflict: its two sides, to choose which to take out. */
  sides: { left: string; right: string } | null;
}

/** What a chip shows. */
export interface FlagChip {
  /** As the page's link wrote it. */
  externalUserId: string;
  /** The highest severity of the user's open findings. */
  severity: Risk;
  count: number;
}

/** What a chip opens (asked when it is opened: drawing hundreds of chips needs none of it). */
export interface FlagUser extends FlagChip {
  /** Who the account is in AccessLens's directory (never read from the page). */
  person: { personName: string; department: string; title: string } | null;
  findings: FlagFinding[];
}

export interface FlagsAnswer {
  /** False: the person is not an administrator (or not signed in): nothing is drawn. */
  admin: boolean;
  connectionId: string | null;
  /** Only users with open findings. */
  users: FlagChip[];
  /** The server could not be asked: what was held is shown. */
  offline: boolean;
}

export interface FlagsDetailAnswer {
  /** null: no open finding left for this user. */
  user: FlagUser | null;
  offline: boolean;
}

export interface FlagsAcceptAnswer {
  findingId: string;
  status: string;
  expiresAt: string | null;
}

export interface FlagsRemediateAnswer {
  taskIds: string[];
  requestIds: string[];
}

/** A server answer relayed to an extension page (`console.api`): JSON, or text for CSV exports. */
export interface ConsoleApiAnswer {
  status: number;
  contentType: string;
  json: unknown;
  text: string | null;
}
