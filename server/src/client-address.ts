/**
 * Which client sent a request: the socket's peer address, unless the peer is one of the configured
 * reverse proxies (`ACCESSLENS_TRUSTED_PROXIES`: addresses and CIDR ranges). Only then are forwarding
 * headers read — `Forwarded` (RFC 7239 §4, `for=`) or else `X-Forwarded-For` — walking from the nearest
 * hop outwards past trusted proxies; the first address a trusted proxy vouches for is the client. Any
 * client can write these headers, so they mean nothing from an untrusted peer.
 */
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  readonly #list = new BlockList();
  readonly entries: readonly string[];

  /** Entries such as `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`; throws on anything else. */
  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const entry of entries) {
      const problem = trustedProxyProblem(entry);
      if (problem) throw new Error(`${entry}: ${problem}`);
      const [address, bits] = entry.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(bits), family);
    }
  }

  has(address: string): boolean {
    const plain = normaliseAddress(address);
    const family = isIP(plain);
    return family !== 0 && this.#list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** Why an ACCESSLENS_TRUSTED_PROXIES entry is not an address or CIDR range, or null. */
export function trustedProxyProblem(entry: string): string | null {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (rest.length > 0 || family === 0) return 'must be an IP address or a CIDR range such as 10.0.0.0/8';
  if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 6 ? 128 : 32)))
    return `the prefix length must be 0–${family === 6 ? 128 : 32}`;
  return null;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is `10.0.0.1`. */
export function normaliseAddress(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m ? m[1]! : address;
}

/** The `for=` hops of a Forwarded header, nearest last; null when a hop cannot be read. */
function forwardedFor(header: string): string[] | null {
  const hops: string[] = [];
  for (const element of header.split(',')) {
    const pair = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.toLowerCase().startsWith('for='));
    if (!pair) return null;
    let value = pair.slice(4).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    // `[2001:db8::1]:4711` and `192.0.2.43:47011`: the address without the port.
    const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
    if (v6) value = v6[1]!;
    else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
    hops.push(value);
  }
  return hops;
}

export function clientAddressFrom(
  peer: string | undefined,
  headers: { forwarded?: string | undefined; xForwardedFor?: string | undefined },
  trusted: TrustedProxies | null,
): string {
  if (!peer) return 'unknown';
  const nearest = normaliseAddress(peer);
  if (!trusted || !trusted.has(nearest)) return nearest;
  const hops = headers.forwarded ? forwardedFor(headers.forwarded) : headers.xForwardedFor ? headers.xForwardedFor.split(',').map((h) => h.trim()) : [];
  if (!hops) return nearest;
  let client = nearest;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(hops[i]!);
    // A hop that is not an address ("unknown", an obfuscated name): the last proxy is all we know.
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}
