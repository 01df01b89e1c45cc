/** Latency from navigation to the badge, readable by tests from the host element and the timeline. */
export type Navigation = { id: number; kind: 'document' } | { id: number; kind: 'spa'; startedAt: number };

export function recordBadgeShown(host: HTMLElement, nav: Navigation): void {
  const mark = performance.mark('accesslens:badge-shown');
  const round = (ms: number) => String(Math.round(ms * 10) / 10);
  if (nav.kind === 'document') {
    const entry = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    if (entry) host.setAttribute('data-dcl-to-badge-ms', round(mark.startTime - entry.domContentLoadedEventStart));
  } else {
    host.setAttribute('data-nav-to-badge-ms', round(mark.startTime - nav.startedAt));
  }
}
