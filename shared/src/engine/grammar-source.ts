import type { RuleSource } from './implications.ts';

/** Our own grammar (docs/api.md, "Permission keys"): where the record scopes are defined as nested sets. */
export const GRAMMAR_SOURCE: RuleSource = {
  document: 'AccessLens API reference',
  section: 'Permission keys (record scopes are nested sets: own ⊂ team ⊂ businessUnit ⊂ hierarchy ⊂ org)',
  url: 'docs/api.md#permission-keys',
};
