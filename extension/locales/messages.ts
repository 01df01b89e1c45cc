/**
 * Turns a dictionary into Chrome's `_locales/{lang}/messages.json`: `badge.summary` becomes the message
 * `badge_summary`, `{object}` a named placeholder. Placeholders are numbered in alphabetical order of
 * their names, so `t()` passes substitutions sorted by name and needs no table at run time.
 * (https://developer.chrome.com/docs/extensions/reference/api/i18n#messages)
 */

export interface ChromeMessage {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

/** Chrome message names allow ASCII letters, digits, `_` and `@`. */
export const messageName = (key: string): string => key.replace(/[^A-Za-z0-9_@]/g, '_');

export const placeholderNames = (template: string): string[] => [...new Set([...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();

export function toChromeMessages(dictionary: Record<string, string>): Record<string, ChromeMessage> {
  const out: Record<string, ChromeMessage> = {};
  for (const [key, template] of Object.entries(dictionary)) {
    const names = placeholderNames(template);
    if (names.length > 9) throw new Error(`${key}: Chrome allows at most 9 substitutions`);
    // `$` is Chrome's placeholder sigil: a literal one is written `$$`.
    const message = template.replace(/\$/g, '$$$$').replace(/\{(\w+)\}/g, (_, name: string) => `$${name.toUpperCase()}$`);
    const name = messageName(key);
    if (name in out) throw new Error(`${key}: message name ${name} is used twice`);
    out[name] = names.length ? { message, placeholders: Object.fromEntries(names.map((n, i) => [n.toLowerCase(), { content: `$${i + 1}` }])) } : { message };
  }
  return out;
}

/** What `chrome.i18n.getMessage` does with a message and its substitutions (for tests). */
export function renderChromeMessage(m: ChromeMessage | undefined, substitutions: string[]): string {
  if (!m) return '';
  return m.message.replace(/\$\$|\$(\w+)\$/g, (whole, name?: string) => {
    if (whole === '$$') return '$';
    const content = m.placeholders?.[name!.toLowerCase()]?.content ?? '';
    return content.replace(/\$(\d)/g, (_, i: string) => substitutions[Number(i) - 1] ?? '');
  });
}
