/**
 * A Vite plugin that takes the one HTML-parsing path out of Preact: `dangerouslySetInnerHTML`, which its
 * renderer applies as `dom.innerHTML = props.dangerouslySetInnerHTML.__html`. AccessLens renders text only
 * (README, "What leaves the browser"), and the overlay lives in a CRM's page, so the capability is removed
 * rather than merely unused: using the prop now throws. It also leaves `web-ext lint` nothing to flag
 * (UNSAFE_VAR_ASSIGNMENT, one per bundle that holds Preact).
 *
 * The build fails when the pattern is not found exactly once in Preact's module, so a Preact upgrade that
 * moves it is noticed rather than silently shipping the path again.
 */
import type { Plugin } from 'vite';

/** `(u.innerHTML=h.__html)` in preact/dist/preact.module.js 10.x (minified names vary). */
const ASSIGNMENT = /\((\w+)\.innerHTML=(\w+)\.__html\)/g;
const PREACT_MODULE = /[\\/]preact[\\/]dist[\\/]preact\.module\.js$/;

export function removeHtmlInjection(code: string): string {
  const found = code.match(ASSIGNMENT)?.length ?? 0;
  if (found !== 1) throw new Error(`preact-no-html: expected Preact's one innerHTML assignment, found ${found}`);
  return code.replace(ASSIGNMENT, '(()=>{throw new Error("AccessLens renders no HTML: dangerouslySetInnerHTML is disabled")})()');
}

export function preactNoHtml(): Plugin {
  return {
    name: 'accesslens:preact-no-html',
    enforce: 'pre',
    transform(code, id) {
      if (!PREACT_MODULE.test(id.split('?')[0]!)) return null;
      return { code: removeHtmlInjection(code), map: null };
    },
  };
}
