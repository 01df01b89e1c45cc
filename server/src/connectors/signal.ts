/**
 * Wakes this process's connector workers when it queues work (a fulfilment job, an import): they run
 * it at once instead of at their next poll. Other processes find the work by polling the database.
 */
export const workSignal = new EventTarget();

export function signalWork(): void {
  workSignal.dispatchEvent(new Event('work'));
}
