/**
 * Plain constants with no dependency (no zod): safe to import from content scripts, whose bundle
 * must stay small. `schemas.ts` builds its zod enums from these lists.
 */

export const CRM_KINDS = ['salesforce', 'dynamics', 'hubspot', 'zoho', 'fxiaoke', 'generic'] as const;
export type CrmKind = (typeof CRM_KINDS)[number];

/** Grant durations a requester may pick, in days; each request is further capped by the catalog. */
export const DURATION_CHOICES = [1, 7, 30, 90] as const;

/** The languages every user-facing text exists in. */
export const LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];

/**
 * The label the server gives a stage of each kind when the policy names none (a group stage is named
 * after its group). Clients translate a stage whose label is its kind's default.
 */
export const DEFAULT_STAGE_LABELS = {
  manager: 'manager',
  owner: 'permission owner',
  group: null,
  person: 'named approver',
} as const satisfies Record<'manager' | 'owner' | 'group' | 'person', string | null>;
