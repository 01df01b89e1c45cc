/**
 * What the background answers to each message (the requests themselves are the shared zod schemas in
 * `@accesslens/shared` messages.ts). Plain data only: it crosses `runtime.sendMessage`.
 */
import type {
  AccessRequest,
  AuthMethodsResponse,
  PageVerdict,
  Person,
  PopupState,
  RequestPreviewResponse,
  SyncStatus,
  UiError,
} from '@accesslens/shared';
import type { KillSwitch, PageRule } from '@accesslens/shared/crm';
import type { CrmKind } from '@accesslens/shared/constants';

/** A mutation the server refused for good; the optimistic change it made was dropped. */
export interface MutationFailure {
  mutationId: string;
  name: string;
  requestId: string;
  permissions: string[];
  error: UiError;
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

export type PopupStateAnswer = PopupState & { failures: MutationFailure[] };

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
