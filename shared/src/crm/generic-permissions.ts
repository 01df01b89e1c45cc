/**
 * An in-house CRM defined by admin page rules: there is no vendor documentation, so no key implies
 * another except through the grammar itself (a wider record scope contains the narrower ones,
 * docs/api.md "Permission keys"). Bundles and grants list what they mean explicitly.
 */
import type { ImplicationTable } from '../engine/implications.ts';
import { GRAMMAR_SOURCE } from '../engine/grammar-source.ts';
import { ALL_OBJECT_ACTIONS, FIELD_ACTIONS, RECORD_ACTIONS, RECORD_SCOPES } from '../permissions.ts';

export const GENERIC_PERMISSIONS: ImplicationTable = {
  crm: 'generic',
  name: 'generic',
  vocabulary: {
    objectActions: ALL_OBJECT_ACTIONS,
    fieldActions: FIELD_ACTIONS,
    scopeActions: RECORD_ACTIONS,
    scopes: RECORD_SCOPES,
    names: null,
  },
  scopeOrder: GRAMMAR_SOURCE,
  rules: [],
  prerequisites: [],
};
