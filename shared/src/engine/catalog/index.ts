import type { CrmKind } from '../../schemas.ts';
import type { CatalogMeta } from '../types.ts';
import { dynamicsCatalog } from './dynamics.ts';
import { salesforceSystemCatalog } from './salesforce.ts';

export * from './labels.ts';
export * from './salesforce.ts';
export * from './dynamics.ts';

/** The built-in catalog entries for a connection of `kind` (an org adds and overrides per key). */
export function builtInCatalog(kind: CrmKind, connectionId: string): CatalogMeta[] {
  if (kind === 'salesforce') return salesforceSystemCatalog(connectionId);
  if (kind === 'dynamics') return dynamicsCatalog(connectionId);
  return [];
}

/** Merges catalogs: later entries override earlier ones for the same connection and key. */
export function mergeCatalogs(...catalogs: CatalogMeta[][]): CatalogMeta[] {
  const byKey = new Map<string, CatalogMeta>();
  for (const c of catalogs) for (const e of c) byKey.set(`${e.connectionId}\u0000${e.key}`, e);
  return [...byKey.values()];
}
