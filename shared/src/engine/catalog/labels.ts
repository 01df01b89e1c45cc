import { parsePermissionKey, type AnyObjectAction, type RecordScope } from '../../permissions.ts';
import type { CrmKind } from '../../schemas.ts';
import { implicationTableFor } from '../implications.ts';

const ACTION_EN: Record<AnyObjectAction, string> = {
  read: 'Read',
  create: 'Create',
  edit: 'Edit',
  delete: 'Delete',
  viewAll: 'View all',
  modifyAll: 'Modify all',
  append: 'Append',
  appendTo: 'Append to',
  assign: 'Assign',
  share: 'Share',
};
const ACTION_ZH: Record<AnyObjectAction, string> = {
  read: '读取',
  create: '创建',
  edit: '编辑',
  delete: '删除',
  viewAll: '查看全部',
  modifyAll: '修改全部',
  append: '追加',
  appendTo: '追加到',
  assign: '分派',
  share: '共享',
};
const SCOPE_EN: Record<RecordScope, string> = {
  own: 'own records',
  team: 'team records',
  businessUnit: 'business unit records',
  hierarchy: 'records of the unit and the units below it',
  org: 'all records',
};
const SCOPE_ZH: Record<RecordScope, string> = {
  own: '本人记录',
  team: '团队记录',
  businessUnit: '业务部门记录',
  hierarchy: '本部门及下级部门记录',
  org: '全部记录',
};

/** What a record scope covers, in the CRM's own terms where its table has them. */
export function scopeLabel(scope: RecordScope, kind: CrmKind = 'generic'): { en: string; 'zh-CN': string } {
  return implicationTableFor(kind).labels?.scopes?.[scope] ?? { en: SCOPE_EN[scope], 'zh-CN': SCOPE_ZH[scope] };
}

/** An object action's name, in the CRM's own terms where its table has them (Dataverse "Write"). */
export function actionLabel(action: AnyObjectAction, kind: CrmKind = 'generic'): { en: string; 'zh-CN': string } {
  return implicationTableFor(kind).labels?.actions?.[action] ?? { en: ACTION_EN[action], 'zh-CN': ACTION_ZH[action] };
}

/** Readable labels for a key that has no catalog entry (or as a default when building one). */
export function defaultLabels(key: string, kind: CrmKind = 'generic'): { en: string; 'zh-CN': string } {
  const parsed = parsePermissionKey(key);
  if (!parsed.ok) return { en: key, 'zh-CN': key };
  const p = parsed.value;
  switch (p.kind) {
    case 'object': {
      const a = actionLabel(p.action, kind);
      return { en: `${a.en} ${p.object}`, 'zh-CN': `${a['zh-CN']} ${p.object}` };
    }
    case 'field':
      return {
        en: `${p.action === 'edit' ? 'Edit' : 'Read'} field ${p.object}.${p.field}`,
        'zh-CN': `${p.action === 'edit' ? '编辑' : '读取'}字段 ${p.object}.${p.field}`,
      };
    case 'scope': {
      const a = actionLabel(p.action, kind);
      const s = scopeLabel(p.scope, kind);
      return { en: `${p.object}: ${a.en} — ${s.en}`, 'zh-CN': `${p.object}：${a['zh-CN']} — ${s['zh-CN']}` };
    }
    case 'system':
      return { en: `System: ${p.name}`, 'zh-CN': `系统权限：${p.name}` };
    case 'app':
      return { en: `App: ${p.name}`, 'zh-CN': `应用：${p.name}` };
    case 'feature':
      return { en: `Feature: ${p.name}`, 'zh-CN': `功能：${p.name}` };
  }
}
