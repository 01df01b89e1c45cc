interface Listener {
  poke(): void;
  close(): void;
}

/**
 * In-process fan-out of "your slice may have changed" to open event streams, keyed by person id.
 * With several server processes each only reaches its own streams; clients also pull periodically.
 */
export class Notifier {
  readonly #listeners = new Map<string, Set<Listener>>();

  subscribe(personId: string, listener: Listener): () => void {
    let set = this.#listeners.get(personId);
    if (!set) this.#listeners.set(personId, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.#listeners.get(personId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(personId);
    };
  }

  poke(personIds: Iterable<string>): void {
    for (const id of new Set(personIds)) for (const l of this.#listeners.get(id) ?? []) l.poke();
  }

  /** Number of open streams (all, or one person's). */
  listenerCount(personId?: string): number {
    if (personId !== undefined) return this.#listeners.get(personId)?.size ?? 0;
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  /** Ends every open stream, e.g. on shutdown. */
  closeAll(): void {
    for (const set of [...this.#listeners.values()]) for (const l of [...set]) l.close();
  }
}
