import { browser } from 'wxt/browser';
import { defineBackground } from 'wxt/utils/define-background';
import { PORT_NAMES } from '../../utils/protocol';
import { wireBadge } from './badge';
import { LiveUpdates } from './live';
import { PreviewCache } from './preview';
import { syncInHouseScripts } from './in-house';
import { handleMessage, type Sender } from './router';
import { RETRY_ALARM, Replica } from './sync';
import { indexedDbTokenStore } from './token-store';

const SYNC_ALARM = 'accesslens-sync';

export default defineBackground(() => {
  // Keep storage.local away from content scripts (they have no business there). Chrome and Edge only:
  // Firefox has no setAccessLevel, and its content scripts can read storage.local — which holds no session
  // token (that is in this background's IndexedDB, token-store.ts), only what the person's own pages show.
  try {
    void (browser.storage.local as { setAccessLevel?: (o: { accessLevel: string }) => Promise<void> })
      .setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' })
      ?.catch(() => undefined);
  } catch {
    // not supported by this browser
  }

  const tokens = indexedDbTokenStore();
  const fetchFn = (input: string, init?: RequestInit) => fetch(input, init);
  const now = () => new Date();
  const replica = new Replica({ fetch: fetchFn, now, tokens });
  const live = new LiveUpdates({ fetch: fetchFn, tokens, replica });
  const deps = {
    replica,
    tokens,
    fetch: fetchFn,
    now,
    uuid: () => crypto.randomUUID(),
    previews: new PreviewCache(),
    version: browser.runtime.getManifest().version,
    openOptionsPage: () => browser.runtime.openOptionsPage(),
  };
  const self = { id: browser.runtime.id, origin: browser.runtime.getURL('/') };

  replica.onChange(() => live.broadcast({ type: 'slice.changed' }));
  const refreshBadge = wireBadge(replica);

  // In-house CRMs: the content script runs on exactly the in-house hosts the person allowed.
  let inHouse: Promise<unknown> = Promise.resolve();
  const refreshInHouse = () => {
    inHouse = inHouse
      .then(async () => syncInHouseScripts(await replica.view()))
      .catch((e: unknown) => console.warn('[accesslens] in-house CRM scripts:', e));
  };
  replica.onChange(refreshInHouse);
  browser.permissions.onAdded.addListener(refreshInHouse);
  browser.permissions.onRemoved.addListener(refreshInHouse);

  browser.runtime.onMessage.addListener((raw, sender, sendResponse) => {
    const wasSignedIn = replica.signedIn();
    void handleMessage(deps, raw, sender as Sender, self).then(async (answer) => {
      sendResponse(answer);
      const type = (raw as { type?: unknown } | null)?.type;
      if (answer.ok && (type === 'auth.signIn' || type === 'auth.signInSso' || type === 'auth.signOut') && (await wasSignedIn) !== (await replica.signedIn()))
        live.restart();
    });
    return true;
  });

  browser.runtime.onConnect.addListener((port) => {
    const sender = port.sender as Sender | undefined;
    const fromUs = sender?.id === self.id && (sender.tab !== undefined || sender.url?.startsWith(self.origin));
    if (!fromUs || !(PORT_NAMES as readonly string[]).includes(port.name)) {
      port.disconnect();
      return;
    }
    live.attach(port);
  });

  void browser.alarms.get(SYNC_ALARM).then((alarm) => {
    if (!alarm) void browser.alarms.create(SYNC_ALARM, { periodInMinutes: 1 });
  });
  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === SYNC_ALARM || alarm.name === RETRY_ALARM) void replica.syncNow();
  });

  // Startup (and every service-worker wake): catch up, and restore the badge.
  void replica.syncNow();
  void refreshBadge();
  refreshInHouse();
});
