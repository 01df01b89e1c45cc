/**
 * Settings and credentials fields the Dynamics and HubSpot connectors share: messages that name what is
 * wrong (the admin API turns them into 400s naming the field).
 */
import { z } from 'zod';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });

export const required = () => text().trim().min(1, 'is required');

/** An https:// URL (http:// only for a test server on this machine), without a trailing slash. */
export const serviceUrl = (example: string) =>
  text()
    .trim()
    .url(`must be a URL such as ${example}`)
    // zod runs this check even when .url() failed: an unparseable value is left to that message.
    .refine((u) => {
      if (!URL.canParse(u)) return true;
      const url = new URL(u);
      return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
    }, 'must be https:// (http:// only for a test server on this machine)')
    .transform((u) => u.replace(/\/+$/, ''));

/** A GUID as Dataverse writes them (lower case, no braces). */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** An ISO 8601 instant, or null when the value is not a date. */
export function toIso(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** The later of two ISO instants (either may be null). */
export const later = (a: string | null | undefined, b: string | null | undefined): string | null => (!a ? (b ?? null) : !b ? a : a > b ? a : b);
