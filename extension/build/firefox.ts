/**
 * What Firefox needs beyond the shared manifest (https://extensionworkshop.com/documentation/develop/):
 *
 * - Manifest V3, as for Chrome and Edge: `action` (the approver's badge) exists only there, and Firefox runs
 *   the MV3 background as an event page (`background.scripts`, written by WXT), woken by alarms, messages
 *   and port connections like Chrome's service worker.
 * - An add-on id: required for MV3 and for signing; it also fixes the extension's id across installs, so
 *   `storage` and the IndexedDB token store survive updates.
 * - The data-collection declaration (built-in consent, Firefox 140+; required for new listings on AMO).
 */
export const GECKO_ID = 'accesslens@accesslens.app';

/**
 * Firefox 140 (ESR) is the first desktop release with the built-in data-collection consent the manifest
 * declares; Firefox for Android has it from 142.
 */
export const GECKO_MIN_VERSION = '140.0';
export const GECKO_ANDROID_MIN_VERSION = '142.0';

/**
 * What AccessLens transmits outside the extension — only ever to the company's own AccessLens server the
 * person signs in to (README, "What leaves the browser"):
 * - authenticationInfo: the email and password (or the SSO sign-in) and, after it, the session token;
 * - personallyIdentifyingInfo: the person's email and name, on every request and decision;
 * - browsingActivity: the CRM page's origin and path with a request for access (which CRM record);
 * - websiteContent: the CRM's own refusal phrase shown on that page ("Insufficient Privileges").
 * Nothing is optional: without these the product cannot file a request. No analytics, no telemetry.
 */
export const DATA_COLLECTION = {
  required: ['authenticationInfo', 'personallyIdentifyingInfo', 'browsingActivity', 'websiteContent'],
} as const;

export function geckoSettings() {
  return {
    gecko: {
      id: GECKO_ID,
      strict_min_version: GECKO_MIN_VERSION,
      data_collection_permissions: { required: [...DATA_COLLECTION.required] },
    },
    gecko_android: { strict_min_version: GECKO_ANDROID_MIN_VERSION },
  };
}
