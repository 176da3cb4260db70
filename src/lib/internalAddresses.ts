import { BlockList, isIP } from 'node:net';

/**
 * Which addresses are internal (loopback, private, link-local, and every
 * other range that is not public): no I/O, shared by the services, which
 * refuse what a URL's text alone shows (domain/runtimeRequirements
 * `literalInternalTargets` is handed `literalInternalHost`), and the worker,
 * which refuses what each connection's address is (activities/addressGuard.ts).
 * Not in domain/: it needs node:net, which domain/ may not import.
 */

const INTERNAL_IPV4 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL_IPV4.addSubnet(net, prefix, 'ipv4');
}

/**
 * IPv6 is judged by allow-list: only global unicast (2000::/3) is public.
 * A deny-list misses ranges such as site-local fec0::/10 or NAT64's local-use
 * 64:ff9b:1::/48, and every IPv6 range not yet assigned. Inside 2000::/3 the
 * documentation prefix is not routable either.
 */
const NOT_GLOBAL_IPV6 = new BlockList();
NOT_GLOBAL_IPV6.addSubnet('2001:db8::', 32, 'ipv6');

type TBytes = number[];

/** The 16 bytes of a valid IPv6 literal (zone id dropped; a trailing dotted IPv4 allowed). */
function ipv6Bytes(text: string): TBytes {
  let rest = text.replace(/%.*$/, '');
  const tail: TBytes = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(rest);
  if (dotted) {
    tail.push(...dotted.slice(1).map(Number));
    rest = rest.slice(0, dotted.index);
    if (rest.endsWith(':') && !rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const groups = (part: string): TBytes =>
    part === '' ? [] : part.split(':').flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 0xff]; });
  const [head, after] = rest.includes('::') ? rest.split('::') : [rest, undefined];
  const front = groups(head!);
  const back = [...groups(after ?? ''), ...tail];
  const zeros = after === undefined ? [] : new Array<number>(16 - front.length - back.length).fill(0);
  return [...front, ...zeros, ...back];
}

function ipv4At(bytes: TBytes, at: number, mask = 0): string {
  return bytes.slice(at, at + 4).map((b) => b ^ mask).join('.');
}

function startsWith(bytes: TBytes, prefix: TBytes): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

const ZERO_80_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * The IPv4 addresses an IPv6 address carries, by the mechanisms that route
 * to them (a translator or tunnel endpoint forwards to that IPv4 host): so
 * `64:ff9b::7f00:1` reaches 127.0.0.1 through a NAT64 gateway. Undefined
 * when the address embeds none.
 */
function embeddedIpv4(bytes: TBytes): string[] | undefined {
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (SIIT translated), ::a.b.c.d (the deprecated "compatible" form).
  if (startsWith(bytes, [...ZERO_80_BITS, 0xff, 0xff])) return [ipv4At(bytes, 12)];
  if (startsWith(bytes, [...ZERO_80_BITS.slice(0, 8), 0xff, 0xff, 0, 0])) return [ipv4At(bytes, 12)];
  if (startsWith(bytes, [...ZERO_80_BITS, 0, 0])) return [ipv4At(bytes, 12)];
  // NAT64 well-known prefix 64:ff9b::/96.
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, ...ZERO_80_BITS.slice(0, 8)])) return [ipv4At(bytes, 12)];
  // 6to4 2002::/16: the relay forwards to the IPv4 in bits 16–47.
  if (startsWith(bytes, [0x20, 0x02])) return [ipv4At(bytes, 2)];
  // Teredo 2001::/32: the server's IPv4 in bits 32–63, the client's (inverted) in the last 32.
  if (startsWith(bytes, [0x20, 0x01, 0, 0])) return [ipv4At(bytes, 4), ipv4At(bytes, 12, 0xff)];
  return undefined;
}

function isInternalIpv6(text: string): boolean {
  const bytes = ipv6Bytes(text);
  const embedded = embeddedIpv4(bytes);
  if (embedded) return embedded.some((v4) => INTERNAL_IPV4.check(v4, 'ipv4'));
  const globalUnicast = (bytes[0]! & 0xe0) === 0x20;
  return !globalUnicast || NOT_GLOBAL_IPV6.check(text.replace(/%.*$/, ''), 'ipv6');
}

/**
 * Whether an IP address is internal. IPv6 addresses that embed an IPv4
 * (mapped, compatible, NAT64, 6to4, Teredo) are judged by that IPv4; other
 * IPv6 addresses are public only when global unicast.
 */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return INTERNAL_IPV4.check(bare, 'ipv4');
  if (family === 6) return isInternalIpv6(bare);
  return false;
}

/**
 * The host of an http(s) URL when its text alone shows an internal address:
 * an internal IP literal, or a `localhost` name (RFC 6761: always loopback).
 * Other names are only known when the request resolves them (undefined here).
 */
export function literalInternalHost(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  const bare = host.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (bare === 'localhost' || bare.endsWith('.localhost')) return bare;
  return isInternalAddress(bare) ? bare : undefined;
}
