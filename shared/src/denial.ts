/**
 * Finds a known denial message in page text. Returns the known phrase itself (never the surrounding
 * page text), so only the CRM's own wording ever leaves the page.
 */
export function matchDenialText(pageText: string, known: readonly string[]): string | null {
  const haystack = normalise(pageText);
  for (const phrase of known) if (haystack.includes(normalise(phrase))) return phrase;
  return null;
}

function normalise(s: string): string {
  return s
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/\s+/g, ' ')
    .toLowerCase();
}
