import { browser } from 'wxt/browser';
import { defineBackground } from 'wxt/utils/define-background';
import { PORT_NAMES } from '../../utils/protocol';
import { wireBadge } from './badge';
import { LiveUpdates } from './live';
import { LiveCheckMemory } from './live-check';
import { PreviewCache } from './preview';
import { FlagsCache } from './flags';
import { syncInHouseScripts } from './in-house';
import { handleMessage, type Sender } from './router';
import { RETRY_ALARM, Replica } from './sync';
import { indexedDbTokenStore } from './token-store';
import { BrowserNotifier } from './notifications';
import { notifySettingsItem, withDefaults } from '../../utils/notify-settings';

const SYNC_ALARM = 'accesslens-sync';
/**
 * How often the background pulls when nobody is looking (live updates stream only while a popup or an
 * overlay is open): what bounds how late a browser notification comes. Chrome's shortest alarm period; an
 * unchanged pull is one indexed read on the server.
 */
const SYNC_PERIOD_MINUTES = 0.5;

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
    flags: new FlagsCache(),
    version: browser.runtime.getManifest().version,
    openOptionsPage: () => browser.runtime.openOptionsPage(),
    // Salesforce's session cookie for the current-user API check (live-check.ts): read there, used there only.
    cookie: async (url: string, name: string, storeId?: string) => (await browser.cookies.get({ url, name, ...(storeId ? { storeId } : {}) }))?.value ?? null,
    liveMemory: new LiveCheckMemory(),
  };
  const self = { id: browser.runtime.id, origin: browser.runtime.getURL('/') };

  replica.onChange(() => live.broadcast({ type: 'slice.changed' }));
  const refreshBadge = wireBadge(replica);

  // Browser notifications of what sync brought (each shown once; kinds turned off in settings are not).
  const notifier = new BrowserNotifier({
    view: () => replica.view(),
    signedIn: () => replica.signedIn(),
    synced: async () => (await replica.syncStatus()).lastSyncAt !== null,
    settings: async () => withDefaults(await notifySettingsItem.getValue()),
    show: async (id, content) => {
      await browser.notifications.create(id, {
        type: 'basic',
        iconUrl: browser.runtime.getURL('/icon/128.png'),
        title: content.title,
        message: content.message,
      });
    },
  });
  replica.onChange(() => void notifier.check());
  browser.notifications.onClicked.addListener((id) => {
    if (!id.startsWith('al:')) return;
    void browser.notifications.clear(id);
    void browser.tabs.create({ url: browser.runtime.getURL('/popup.html') });
  });

  // In-house CRMs: the content script runs on exactly the in-house hosts the person allowed.
  let inHouse: Promise<unknown> = Promise.resolve();
  const refreshInHouse = () => {
    inHouse = inHouse.then(async () => syncInHouseScripts(await replica.view())).catch((e: unknown) => console.warn('[accesslens] in-house CRM scripts:', e));
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
    if (alarm?.periodInMinutes !== SYNC_PERIOD_MINUTES) void browser.alarms.create(SYNC_ALARM, { periodInMinutes: SYNC_PERIOD_MINUTES });
  });
  const onAlarm = async (alarm: { name: string }) => {
    if (alarm.name === SYNC_ALARM || alarm.name === RETRY_ALARM) await replica.syncNow();
  };
  browser.alarms.onAlarm.addListener((alarm) => void onAlarm(alarm));
  // End-to-end builds only: the tests play an alarm's time passing instead of waiting a real minute.
  if (import.meta.env.ACCESSLENS_E2E)
    (globalThis as { accesslensFireAlarm?: (name: string) => Promise<void> }).accesslensFireAlarm = (name) => onAlarm({ name });

  // Startup (and every service-worker wake): catch up, and restore the badge.
  void replica.syncNow();
  void refreshBadge();
  void notifier.check();
  refreshInHouse();
});
