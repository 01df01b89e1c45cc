/**
 * Connectors by CRM kind. Adding a CRM: write `server/src/connectors/{kind}.ts` exporting a
 * `ConnectorDefinition` and its fake `test/fakes/{kind}.ts`, then list it here. A kind without a
 * connector still works: its grants and revocations become admin tasks and nothing is imported.
 */
import type { CrmKind } from '@accesslens/shared';
import { fxiaokeConnector } from './fxiaoke.ts';
import { dynamics } from './dynamics.ts';
import { hubspot } from './hubspot.ts';
import { salesforce } from './salesforce.ts';
import { zohoConnector } from './zoho.ts';
import type { ConnectorDefinition } from './types.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyConnector = ConnectorDefinition<any, any>;

export const CONNECTORS: Readonly<Partial<Record<CrmKind, AnyConnector>>> = {
  salesforce,
  zoho: zohoConnector,
  fxiaoke: fxiaokeConnector,
  dynamics,
  hubspot,
};

export function connectorFor(kind: CrmKind): AnyConnector | null {
  return CONNECTORS[kind] ?? null;
}
