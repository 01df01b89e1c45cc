import { parsePermissionKey } from '../../permissions.ts';

const ACTION_EN: Record<string, string> = {
  read: 'Read',
  create: 'Create',
  edit: 'Edit',
  delete: 'Delete',
  viewAll: 'View all',
  modifyAll: 'Modify all',
};
const ACTION_ZH: Record<string, string> = {
  read: '读取',
  create: '创建',
  edit: '编辑',
  delete: '删除',
  viewAll: '查看全部',
  modifyAll: '修改全部',
};
const SCOPE_EN: Record<string, string> = { own: 'own records', team: 'team records', businessUnit: 'business unit records', org: 'all records' };
const SCOPE_ZH: Record<string, string> = { own: '本人记录', team: '团队记录', businessUnit: '业务部门记录', org: '全部记录' };

/** Readable labels for a key that has no catalog entry (or as a default when building one). */
export function defaultLabels(key: string): { en: string; 'zh-CN': string } {
  const parsed = parsePermissionKey(key);
  if (!parsed.ok) return { en: key, 'zh-CN': key };
  const p = parsed.value;
  switch (p.kind) {
    case 'object':
      return { en: `${ACTION_EN[p.action]} ${p.object}`, 'zh-CN': `${ACTION_ZH[p.action]} ${p.object}` };
    case 'field':
      return {
        en: `${p.action === 'edit' ? 'Edit' : 'Read'} field ${p.object}.${p.field}`,
        'zh-CN': `${p.action === 'edit' ? '编辑' : '读取'}字段 ${p.object}.${p.field}`,
      };
    case 'scope':
      return { en: `${p.object}: ${SCOPE_EN[p.scope]}`, 'zh-CN': `${p.object}：${SCOPE_ZH[p.scope]}` };
    case 'system':
      return { en: `System: ${p.name}`, 'zh-CN': `系统权限：${p.name}` };
    case 'app':
      return { en: `App: ${p.name}`, 'zh-CN': `应用：${p.name}` };
    case 'feature':
      return { en: `Feature: ${p.name}`, 'zh-CN': `功能：${p.name}` };
  }
}
