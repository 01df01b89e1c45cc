/**
 * The session token, held only by the background. IndexedDB of the extension origin: content
 * scripts run in the page's origin and cannot open it (unlike storage.local, which they may read).
 */
export interface TokenStore {
  get(): Promise<string | null>;
  set(token: string): Promise<void>;
  clear(): Promise<void>;
}

const DB = 'accesslens';
const STORE = 'session';
const KEY = 'token';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function indexedDbTokenStore(): TokenStore {
  // undefined = not read yet; the service worker re-reads after every restart.
  let cached: string | null | undefined;
  return {
    async get() {
      if (cached === undefined) {
        const value = await run('readonly', (s) => s.get(KEY) as IDBRequest<unknown>);
        cached = typeof value === 'string' ? value : null;
      }
      return cached;
    },
    async set(token) {
      await run('readwrite', (s) => s.put(token, KEY));
      cached = token;
    },
    async clear() {
      await run('readwrite', (s) => s.delete(KEY));
      cached = null;
    },
  };
}

/** For tests. */
export function memoryTokenStore(initial: string | null = null): TokenStore {
  let token = initial;
  return {
    get: async () => token,
    set: async (t) => {
      token = t;
    },
    clear: async () => {
      token = null;
    },
  };
}
