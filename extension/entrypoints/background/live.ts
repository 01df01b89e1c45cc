/**
 * Live updates while someone is looking (an overlay panel or the popup holds a port open): a
 * streaming fetch of `GET /api/sync/events` (a fetch, not EventSource, so the token stays in a
 * header) pulls on every `poke`; while the stream is down, a 10 s pull stands in for it.
 */
import type { PortMessage } from '../../utils/protocol';
import type { Fetch } from './api';
import type { Replica } from './sync';
import type { TokenStore } from './token-store';

export const FALLBACK_POLL_MS = 10_000;
const RECONNECT_START_MS = 1_000;
const RECONNECT_CAP_MS = 30_000;

export interface LivePort {
  name: string;
  postMessage(message: PortMessage): void;
  onDisconnect: { addListener(cb: () => void): void };
  /** Keepalives arrive here (protocol.ts, PortKeepalive): receiving them is what counts, not their content. */
  onMessage?: { addListener(cb: (message: unknown) => void): void };
}

export interface LiveDeps {
  fetch: Fetch;
  tokens: TokenStore;
  replica: Replica;
}

/** Splits an SSE buffer into complete events (their `event:` names) and the unfinished rest. */
export function parseSse(buffer: string): { events: string[]; rest: string } {
  const normalised = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalised.split('\n\n');
  const rest = blocks.pop() ?? '';
  const events: string[] = [];
  for (const block of blocks) {
    let name = 'message';
    let hasField = false;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      hasField = true;
      if (line.startsWith('event:')) name = line.slice(6).trim();
    }
    if (hasField) events.push(name);
  }
  return { events, rest };
}

export class LiveUpdates {
  private readonly ports = new Set<LivePort>();
  private abort: AbortController | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;
  private streaming = false;

  constructor(private readonly deps: LiveDeps) {}

  get connected(): number {
    return this.ports.size;
  }

  attach(port: LivePort): void {
    this.ports.add(port);
    port.onMessage?.addListener(() => undefined);
    port.onDisconnect.addListener(() => {
      this.ports.delete(port);
      if (this.ports.size === 0) this.stop();
    });
    if (this.ports.size === 1) this.start();
    else void this.deps.replica.pull();
  }

  broadcast(message: PortMessage): void {
    for (const port of this.ports) {
      try {
        port.postMessage(message);
      } catch {
        this.ports.delete(port);
      }
    }
  }

  /** Sign-in or sign-out changes the stream's credentials. */
  restart(): void {
    if (this.ports.size === 0) return;
    this.stop();
    this.start();
  }

  private start(): void {
    const abort = new AbortController();
    this.abort = abort;
    void this.deps.replica.syncNow();
    this.poll = setInterval(() => {
      if (!this.streaming) void this.deps.replica.syncNow();
    }, FALLBACK_POLL_MS);
    void this.stream(abort.signal);
  }

  private stop(): void {
    this.abort?.abort();
    this.abort = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    this.streaming = false;
  }

  private async stream(signal: AbortSignal): Promise<void> {
    let delay = RECONNECT_START_MS;
    while (!signal.aborted) {
      try {
        const token = await this.deps.tokens.get();
        const serverUrl = await this.deps.replica.serverUrl();
        if (token && serverUrl) {
          const res = await this.deps.fetch(`${serverUrl}/api/sync/events`, {
            headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
            signal,
          });
          if (res.status === 401) void this.deps.replica.pull(); // the pull signs out
          if (res.ok && res.body) {
            this.streaming = true;
            delay = RECONNECT_START_MS;
            // Pull once on connect: pokes sent while disconnected were missed.
            void this.deps.replica.pull();
            const reader = res.body.getReader();
            const decoder = new TextDecoder();
            let buffer = '';
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              buffer += decoder.decode(value, { stream: true });
              const parsed = parseSse(buffer);
              buffer = parsed.rest;
              if (parsed.events.includes('poke')) void this.deps.replica.pull();
            }
          }
        }
      } catch {
        // network failure or abort: fall through to the reconnect wait
      }
      this.streaming = false;
      if (signal.aborted) return;
      await sleep(delay, signal);
      delay = Math.min(delay * 2, RECONNECT_CAP_MS);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
