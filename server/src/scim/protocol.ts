/**
 * SCIM 2.0 (RFC 7643 schema, RFC 7644 protocol) as AccessLens serves it at /scim/v2: schema URNs,
 * the error body (RFC 7644 §3.12), list responses (§3.4.2), and the discovery documents (§4).
 */
import { z } from 'zod';

export const SCIM_CONTENT_TYPE = 'application/scim+json';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

/** RFC 7644 §3.12 Table 9. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/** A SCIM failure: rendered as the SCIM error body by the SCIM routes' error handler. */
export class ScimError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 500 | 501,
    message: string,
    readonly scimType?: ScimType,
  ) {
    super(message);
    this.name = 'ScimError';
  }

  get body() {
    return { schemas: [ERROR_SCHEMA], status: String(this.status), ...(this.scimType ? { scimType: this.scimType } : {}), detail: this.message };
  }
}

export const scimErrorBody = z.object({
  schemas: z.array(z.string()),
  status: z.string(),
  scimType: z.string().optional(),
  detail: z.string(),
});

export const listResponse = <T extends z.ZodType>(resource: T) =>
  z.object({
    schemas: z.array(z.string()),
    totalResults: z.number().int(),
    startIndex: z.number().int(),
    itemsPerPage: z.number().int(),
    Resources: z.array(resource),
  });

export function toListResponse<T>(resources: T[], totalResults: number, startIndex: number) {
  return { schemas: [LIST_SCHEMA], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** Largest page; also the ServiceProviderConfig's filter.maxResults. */
export const MAX_RESULTS = 1000;
export const DEFAULT_COUNT = 100;

/** `startIndex` (1-based, values below 1 mean 1) and `count` (0 = totals only) of RFC 7644 §3.4.2.4. */
export const listQuery = z.object({
  filter: z.string().max(2000).optional(),
  startIndex: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').optional(),
  count: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').optional(),
  attributes: z.string().max(2000).optional(),
  excludedAttributes: z.string().max(2000).optional(),
});
export const resourceQuery = listQuery.pick({ attributes: true, excludedAttributes: true });

export function paging(q: { startIndex?: number | undefined; count?: number | undefined }) {
  const startIndex = Math.max(1, q.startIndex ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, q.count ?? DEFAULT_COUNT));
  return { startIndex, count, offset: startIndex - 1 };
}

/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) on a resource's top-level attributes and
 * the enterprise extension's: `id`, `schemas` and `meta` always stay.
 */
export function projectAttributes(resource: Record<string, unknown>, q: { attributes?: string | undefined; excludedAttributes?: string | undefined }) {
  const names = (s: string | undefined) =>
    s === undefined
      ? null
      : s
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean)
          .map((a) => a.toLowerCase());
  const only = names(q.attributes);
  const excluded = names(q.excludedAttributes) ?? [];
  const always = new Set(['id', 'schemas', 'meta']);
  const keep = (path: string) => {
    const top = path.split('.')[0]!;
    if (only) return only.some((a) => a === path || a.split('.')[0] === top || path.startsWith(`${a}.`));
    return !excluded.includes(path) && !excluded.includes(top);
  };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (always.has(key)) out[key] = value;
    else if (key === ENTERPRISE_SCHEMA && value && typeof value === 'object') {
      const ext = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).filter(([k]) => keep(`${ENTERPRISE_SCHEMA}:${k}`.toLowerCase()) || keep(k.toLowerCase())),
      );
      if (Object.keys(ext).length > 0) out[key] = ext;
    } else if (keep(key.toLowerCase())) out[key] = value;
  }
  return out;
}

// ---------- discovery (RFC 7644 §4, RFC 7643 §5–7) ----------

export function serviceProviderConfig(base: string) {
  return {
    schemas: [SPC_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A token an AccessLens administrator created for this identity provider (shown once).',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string) {
  return [
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'A person in the AccessLens directory',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'An AccessLens approver group',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

const attr = (
  name: string,
  type: 'string' | 'boolean' | 'complex' | 'reference' | 'dateTime',
  options: {
    required?: boolean;
    caseExact?: boolean;
    multiValued?: boolean;
    uniqueness?: 'none' | 'server';
    mutability?: string;
    description: string;
    subAttributes?: unknown[];
  },
) => ({
  name,
  type,
  multiValued: options.multiValued ?? false,
  description: options.description,
  required: options.required ?? false,
  caseExact: options.caseExact ?? false,
  mutability: options.mutability ?? 'readWrite',
  returned: 'default',
  uniqueness: options.uniqueness ?? 'none',
  ...(options.subAttributes ? { subAttributes: options.subAttributes } : {}),
});

/** The attributes AccessLens keeps; others a provider sends are accepted and not stored. */
export function schemas(base: string) {
  return [
    {
      schemas: [SCHEMA_SCHEMA],
      id: USER_SCHEMA,
      name: 'User',
      description: 'A person in the AccessLens directory',
      attributes: [
        attr('userName', 'string', {
          required: true,
          uniqueness: 'server',
          description: 'Unique; the email address unless the provider uses another sign-in name.',
        }),
        attr('name', 'complex', {
          description: "The person's name; AccessLens shows `formatted` (or displayName).",
          subAttributes: [
            attr('formatted', 'string', { description: 'The full name.' }),
            attr('givenName', 'string', { description: 'Given name.' }),
            attr('familyName', 'string', { description: 'Family name.' }),
          ],
        }),
        attr('displayName', 'string', { description: 'The name AccessLens shows.' }),
        attr('title', 'string', { description: 'Job title: with the department, it selects the job baseline.' }),
        attr('active', 'boolean', { description: 'false suspends the person: their CRM access is reviewed for revocation.' }),
        attr('emails', 'complex', {
          multiValued: true,
          uniqueness: 'server',
          description: "The primary (or work) email is the person's AccessLens email.",
          subAttributes: [
            attr('value', 'string', { description: 'Email address.' }),
            attr('type', 'string', { description: 'work' }),
            attr('primary', 'boolean', { description: 'The primary address.' }),
          ],
        }),
        attr('externalId', 'string', { caseExact: true, description: "The provider's id for the person." }),
      ],
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${USER_SCHEMA}` },
    },
    {
      schemas: [SCHEMA_SCHEMA],
      id: ENTERPRISE_SCHEMA,
      name: 'EnterpriseUser',
      description: 'Enterprise User: department and manager',
      attributes: [
        attr('department', 'string', { description: 'Department: with the title, it selects the job baseline.' }),
        attr('manager', 'complex', {
          description: "The person's manager (the first approver of their requests).",
          subAttributes: [
            attr('value', 'string', { caseExact: true, description: "The manager's id in AccessLens." }),
            attr('$ref', 'reference', { description: 'URI of the manager.' }),
          ],
        }),
      ],
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${ENTERPRISE_SCHEMA}` },
    },
    {
      schemas: [SCHEMA_SCHEMA],
      id: GROUP_SCHEMA,
      name: 'Group',
      description: 'An AccessLens approver group',
      attributes: [
        attr('displayName', 'string', { required: true, uniqueness: 'server', description: "The group's name; unique." }),
        attr('members', 'complex', {
          multiValued: true,
          description: 'People in the group (users only).',
          subAttributes: [
            attr('value', 'string', { caseExact: true, mutability: 'immutable', description: "The member's id." }),
            attr('display', 'string', { mutability: 'readOnly', description: "The member's name." }),
          ],
        }),
        attr('externalId', 'string', { caseExact: true, description: "The provider's id for the group." }),
      ],
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${GROUP_SCHEMA}` },
    },
  ];
}
