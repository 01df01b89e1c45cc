/**
 * The CRMs AccessLens knows for this person: in-house CRMs to allow on this browser (host permissions
 * are asked for at run time, one host at a time), and, for CRMs whose page URLs name no company
 * (Fxiaoke), which connection is the person's when several could be.
 */
import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import type { CrmKind } from '@accesslens/shared/constants';
import { t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { ConnectionsAnswer } from '../../utils/protocol';
import { usePort } from '../../utils/use-port';

export function Connections() {
  const [state, setState] = useState<ConnectionsAnswer | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const load = async () => {
    const result = await ask<ConnectionsAnswer>({ type: 'connections.state' });
    if (result.ok) setState(result);
    else setProblem(result.error.message);
  };
  useEffect(() => {
    void load();
  }, []);
  // New connections or page rules arrive by sync while this page is open.
  usePort('popup', true, () => void load());

  if (!state) return null;
  const allow = async (origin: string) => {
    setProblem(null);
    try {
      // Must run in the click itself: the browser asks the person.
      const granted = await browser.permissions.request({ origins: [origin] });
      if (!granted) setProblem(t('connections.notAllowed'));
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
    await load();
  };
  const choose = async (kind: CrmKind, connectionId: string) => {
    const result = await ask<ConnectionsAnswer>({ type: 'connections.choose', kind, connectionId: connectionId || null });
    if (result.ok) setState(result);
  };
  const ambiguous = [...new Set(state.connections.map((c) => c.kind))].filter(
    (kind) => kind !== 'generic' && state.connections.filter((c) => c.kind === kind && c.tenant === null).length > 1,
  );

  return (
    <section class="card" data-testid="al-connections" aria-labelledby="connections-title">
      <h2 id="connections-title">{t('connections.title')}</h2>
      {state.inHouse.length === 0 && ambiguous.length === 0 && <p class="muted">{t('connections.none')}</p>}
      {state.inHouse.length > 0 && (
        <ul class="hosts">
          {state.inHouse.map((h) => (
            <li key={h.origin} data-testid="al-in-house-host" data-host={h.host} data-allowed={String(h.allowed)}>
              <span>{t('connections.inHouse', { name: h.connectionName, host: h.host })}</span>
              {h.allowed ? (
                <span class="ok">{t('connections.allowed')}</span>
              ) : (
                <button type="button" class="button" data-testid="al-allow-host" onClick={() => void allow(h.origin)}>
                  {t('connections.allow', { host: h.host })}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {ambiguous.map((kind) => (
        <label class="field" key={kind}>
          <span>{t('connections.choose', { crm: t(`crm.${kind}`) })}</span>
          <select
            data-testid={`al-choose-connection-${kind}`}
            value={state.chosen[kind] ?? ''}
            onChange={(e) => void choose(kind, (e.target as HTMLSelectElement).value)}
          >
            <option value="">{t('connections.chooseNone')}</option>
            {state.connections
              .filter((c) => c.kind === kind)
              .map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
          </select>
        </label>
      ))}
      {problem && (
        <p class="error" role="alert" data-testid="al-error">
          {problem}
        </p>
      )}
    </section>
  );
}
