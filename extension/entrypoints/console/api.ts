/** The console's server calls, through the background (`console.api`), and its downloads. */
import type { UiError } from '@accesslens/shared';
import { ask } from '../../utils/messaging';
import type { ConsoleApiAnswer } from '../../utils/protocol';

export type Answer<T> = { ok: true; data: T } | { ok: false; error: UiError };

export async function api<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<Answer<T>> {
  const answer = await ask<ConsoleApiAnswer>({ type: 'console.api', method, path, ...(body === undefined ? {} : { body }) });
  if (!answer.ok) return answer;
  return { ok: true, data: (answer.json ?? answer.text) as T };
}

/** `?a=1&b=x` from the values that are set. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
}

/** Saves text as a file the way a browser download does. */
export function download(filename: string, text: string, type: string): void {
  // CSV keeps the server's byte-order mark (lost when the body was read as text), so spreadsheets read UTF-8.
  const body = type === 'text/csv' && !text.startsWith('\uFEFF') ? `\uFEFF${text}` : text;
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const today = () => new Date().toISOString().slice(0, 10);

/** The server said the caller may not: the console shows "admins only". */
export const isForbidden = (e: UiError) => e.code === 'forbidden' || e.code === 'http_403';
