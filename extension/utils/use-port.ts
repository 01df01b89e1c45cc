/** Keeps a named port to the background open while `enabled`; calls `onChanged` on `slice.changed`. */
import { useEffect, useRef } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { PORT_KEEPALIVE_MS, type PortKeepalive, type PortMessage, type PortName } from './protocol';

export function usePort(name: PortName, enabled: boolean, onChanged: () => void): void {
  const callback = useRef(onChanged);
  callback.current = onChanged;
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let port: ReturnType<typeof browser.runtime.connect> | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const connect = () => {
      try {
        port = browser.runtime.connect({ name });
      } catch {
        return; // the extension was reloaded: this page's script is orphaned
      }
      port.onMessage.addListener((message: PortMessage) => {
        if (message?.type === 'slice.changed') callback.current();
      });
      // The service worker went away (idle shutdown): come back, and catch up.
      port.onDisconnect.addListener(() => {
        port = null;
        if (!stopped)
          timer = setTimeout(() => {
            connect();
            callback.current();
          }, 1000);
      });
    };
    connect();
    const keepalive = setInterval(() => {
      try {
        port?.postMessage({ type: 'keepalive' } satisfies PortKeepalive);
      } catch {
        // disconnected meanwhile: onDisconnect reconnects
      }
    }, PORT_KEEPALIVE_MS);
    return () => {
      stopped = true;
      clearInterval(keepalive);
      if (timer) clearTimeout(timer);
      port?.disconnect();
    };
  }, [name, enabled]);
}
