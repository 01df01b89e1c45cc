/**
 * Dynamics 365: the page's own Web API, same origin, with the page's own session. This runs in the content
 * script on purpose: a same-origin fetch carries the page's session cookies (HttpOnly: never visible to
 * this script, never read or held by AccessLens), so no token, no `cookies` permission and no host
 * permission are needed — and nothing but the verdict leaves this page. Calls (Dataverse Web API
 * reference, v9.2; answered by test/fakes/dynamics.ts with the documented shapes):
 * - `WhoAmI` → `{UserId}` ("WhoAmI function");
 * - `systemusers({UserId})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()` → `RolePrivileges[].PrivilegeName`
 *   ("RetrieveUserPrivileges function");
 * - `EntityDefinitions(LogicalName='{table}')?$select=EntitySetName` ("Query table definitions using the Web
 *   API"), then `systemusers({UserId})/Microsoft.Dynamics.CRM.RetrievePrincipalAccess(Target=@tid)?@tid=
 *   {'@odata.id':'{set}({id})'}` → `{AccessRights: "ReadAccess, WriteAccess, …"}` ("RetrievePrincipalAccess function").
 */
import { dynamicsVerdict } from '@accesslens/shared/live-check';
import type { LiveCheck } from './live';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[a-z][a-z0-9_]{0,63}$/i;

export const dynamicsLiveCheck: LiveCheck = async (page) => {
  const entity = page.object;
  if (!entity || !NAME.test(entity)) return { verdict: null, unavailable: 'unsupported' };
  const get = async (path: string) => {
    const res = await fetch(`${location.origin}/api/data/v9.2/${path}`, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'OData-MaxVersion': '4.0', 'OData-Version': '4.0' },
    });
    if (!res.ok) throw res.status >= 500 ? 'unreachable' : 'refused';
    return (await res.json()) as Record<string, any>;
  };
  try {
    const me = String((await get('WhoAmI')).UserId ?? '');
    if (!GUID.test(me)) return { verdict: null, unavailable: 'refused' };
    const user = `systemusers(${me})/Microsoft.Dynamics.CRM.`;
    const privileges = get(`${user}RetrieveUserPrivileges()`).then(
      (r) => (Array.isArray(r.RolePrivileges) ? r.RolePrivileges.map((p: { PrivilegeName?: unknown }) => String(p.PrivilegeName ?? '')) : null),
      () => null,
    );
    const id = page.recordId;
    const rights =
      id && GUID.test(id)
        ? get(`EntityDefinitions(LogicalName='${entity.toLowerCase()}')?$select=EntitySetName`)
            .then((d) =>
              get(`${user}RetrievePrincipalAccess(Target=@tid)?@tid=${encodeURIComponent(JSON.stringify({ '@odata.id': `${d.EntitySetName}(${id})` }))}`),
            )
            .then(
              (r) => (typeof r.AccessRights === 'string' ? r.AccessRights : null),
              () => null,
            )
        : Promise.resolve(null);
    const [p, r] = await Promise.all([privileges, rights]);
    if (p === null && r === null) return { verdict: null, unavailable: 'refused' };
    return { verdict: dynamicsVerdict(entity, r, p), unavailable: null };
  } catch (e) {
    return { verdict: null, unavailable: e === 'refused' ? 'refused' : 'unreachable' };
  }
};
