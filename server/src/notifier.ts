interface Listener {
  poke(): void;
  close(): void;
}

/** Event streams one session may hold open at once; opening another ends the oldest. */
export const MAX_STREAMS_PER_SESSION = 3;

/**
 * In-process fan-out of "your slice may have changed" to open event streams, keyed by person id.
 * Other processes' writes reach these streams through the change feed (sync/feed.ts).
 */
export class Notifier {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #bySession = new Map<string, Listener[]>();

  /**
   * `sessionId`: the stream belongs to that session; past MAX_STREAMS_PER_SESSION the session's oldest
   * stream is closed (a client reconnecting over a connection the server has not yet seen die must
   * not be refused, and one session cannot hold the server's memory in streams).
   */
  subscribe(personId: string, listener: Listener, sessionId?: string): () => void {
    let set = this.#listeners.get(personId);
    if (!set) this.#listeners.set(personId, (set = new Set()));
    set.add(listener);
    if (sessionId !== undefined) {
      const streams = this.#bySession.get(sessionId) ?? [];
      streams.push(listener);
      this.#bySession.set(sessionId, streams);
      while (streams.length > MAX_STREAMS_PER_SESSION) streams.shift()!.close();
    }
    return () => {
      const current = this.#listeners.get(personId);
      if (current) {
        current.delete(listener);
        if (current.size === 0) this.#listeners.delete(personId);
      }
      if (sessionId !== undefined) {
        const streams = this.#bySession.get(sessionId);
        const i = streams?.indexOf(listener) ?? -1;
        if (streams && i >= 0) streams.splice(i, 1);
        if (streams?.length === 0) this.#bySession.delete(sessionId);
      }
    };
  }

  poke(personIds: Iterable<string>): void {
    for (const id of new Set(personIds)) for (const l of this.#listeners.get(id) ?? []) l.poke();
  }

  /** A change that may concern everyone (e.g. page rules written by another process). */
  pokeEveryone(): void {
    for (const set of this.#listeners.values()) for (const l of set) l.poke();
  }

  /** Number of open streams (all, or one person's). */
  listenerCount(personId?: string): number {
    if (personId !== undefined) return this.#listeners.get(personId)?.size ?? 0;
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  /** Open streams of one session. */
  sessionStreamCount(sessionId: string): number {
    return this.#bySession.get(sessionId)?.length ?? 0;
  }

  /** Ends every open stream, e.g. on shutdown. */
  closeAll(): void {
    for (const set of [...this.#listeners.values()]) for (const l of [...set]) l.close();
  }
}
