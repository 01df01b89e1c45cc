/**
 * HubSpot permission semantics, each rule with the HubSpot document it comes from. A rule without a
 * source does not go in; where HubSpot documents nothing, a key implies nothing else (View does not
 * grant Edit or Delete, nor the other way round: the documentation sets each separately).
 *
 * Record access: for each object, View, Edit and Delete are each set to all records, the team's
 * records or the user's own records: `scope:contact:read:org`, `scope:deal:edit:team`,
 * `scope:ticket:delete:own`. ("Unassigned" records have no scope of their own.)
 */
import type { ImplicationTable, RuleSource } from '../engine/implications.ts';

export const HUBSPOT_RECORD_ACCESS: RuleSource = {
  document: 'HubSpot Knowledge Base, Assign access to records',
  section:
    'Assign user access to records (All, Their team\'s, Their [object]) and Assign access to records by team ("where they or another user on their team are the owner")',
  url: 'https://knowledge.hubspot.com/records/assign-access-to-records',
};

export const HUBSPOT_PERMISSIONS: ImplicationTable = {
  crm: 'hubspot',
  name: 'hubspot',
  vocabulary: {
    objectActions: ['read', 'edit', 'delete'],
    fieldActions: ['read', 'edit'],
    scopeActions: ['read', 'edit', 'delete'],
    scopes: ['own', 'team', 'org'],
    names: null,
  },
  labels: {
    scopes: {
      own: { en: 'Their records (the user is the owner)', 'zh-CN': '其记录（本人为负责人）' },
      team: { en: "Their team's records (the user or a teammate is the owner)", 'zh-CN': '其团队的记录（本人或团队成员为负责人）' },
      org: { en: 'All records', 'zh-CN': '所有记录' },
    },
    actions: { read: { en: 'View', 'zh-CN': '查看' } },
  },
  // Assign access to records: the team's records are those where the user "or another user on their
  // team" is the owner (so they include the user's own); All covers every record.
  scopeOrder: HUBSPOT_RECORD_ACCESS,
  rules: [
    // Assign access to records: View, Edit and Delete are each set *to* all, the team's or their
    // records — the level is part of the permission.
    { on: 'scope', actions: ['read', 'edit', 'delete'], source: HUBSPOT_RECORD_ACCESS },
  ],
  prerequisites: [],
};
