/**
 * Which browser extensions may call the server (its CORS allow list, ACCESSLENS_EXTENSION_IDS).
 *
 * Chromium derives an extension's id from its public key: the manifest's `key` pins it, so every build
 * of this repository loaded unpacked has the same id, `DEVELOPMENT_EXTENSION_ID`. (Only the public key
 * is here; nothing signs with it.) A store assigns its own id at the first upload; put the store's
 * public key in the manifest to give unpacked builds that id too, and list store ids in
 * ACCESSLENS_EXTENSION_IDS. Firefox names each installation's origin with a random UUID instead
 * (`moz-extension://<uuid>`), so Firefox installations are listed by that UUID.
 */

/** The public key (SubjectPublicKeyInfo, base64 DER) in the manifest of builds from this repository. */
export const DEVELOPMENT_EXTENSION_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwI2FGewpKbynhUs0bljjV6p0g4Wusby4i6/dUX3PsCs0S9CiGpKMgkZG5i+ppF+gQplPb+xRYD9CYvjjMxBEKtKu/sDBj382es97wJTQ9n9+xUYgc7iiDC5EiqzYSFXs0lsz9rDrB99YKQpxCrLa4p652NjozoKPT8NDmxy+xMcD9t5FYcvgAFzDNh1tJHve0JcrNTwDaG/QCFPX7yf9mxm22VOlbDun4pAveasi1mD0NxqoaF9vUpkcP8x7MWxmXFeo9R0UBWicZeh8AFC3pfNnk1fKiUAVybp/Yb/9EDApc8F0oWOKq2uw+z/VB4+RVYJPpRWOImxcQLKnXyhQ5QIDAQAB';

/** Its id: the first 128 bits of SHA-256 of the key, each hex digit written a–p (checked by a test). */
export const DEVELOPMENT_EXTENSION_ID = 'eclpieafbafgbkkpkpbpgblljfnpogpp';

/** A Chromium (Chrome, Edge) extension id. */
export const CHROMIUM_EXTENSION_ID = /^[a-p]{32}$/;
/** A Firefox installation's internal UUID (its `moz-extension://` origin). */
export const FIREFOX_EXTENSION_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The origin an allowed extension id calls from. */
export function extensionOrigin(id: string): string | null {
  if (CHROMIUM_EXTENSION_ID.test(id)) return `chrome-extension://${id}`;
  if (FIREFOX_EXTENSION_UUID.test(id)) return `moz-extension://${id}`;
  return null;
}
