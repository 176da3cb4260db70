import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';

/**
 * Where an `http` leaf may connect. Reaching loopback, private, link-local
 * or otherwise internal addresses (the worker's own machine, Temporal's
 * unauthenticated HTTP API and Web UI, Postgres, cloud metadata) is the
 * same privilege as running shell commands, so only an agent that may run
 * `shell` has it. The check is made on the address each connection
 * actually uses (after DNS, on every redirect hop), not on the URL text.
 */

const INTERNAL = new BlockList();
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
  INTERNAL.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  INTERNAL.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address is internal (IPv4-mapped IPv6 addresses are judged as their IPv4). */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4');
  const family = isIP(bare);
  if (family === 0) return false;
  return INTERNAL.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

function refusal(host: string, address: string): Error {
  return new Error(`${host} is ${host === address ? 'an internal address' : `at ${address}, an internal address`}; only an agent that may run shell actions may reach internal addresses`);
}

/** DNS lookup that refuses a name any of whose addresses is internal. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 4);
    const list = addresses as unknown as { address: string; family: number }[];
    const internal = list.find((a) => isInternalAddress(a.address));
    if (internal) return callback(Object.assign(refusal(hostname, internal.address), { code: undefined }), '', 4);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
    const first = list[0]!;
    callback(null, first.address, first.family);
  });
};

const connectPublic = buildConnector({ lookup: guardedLookup });

/** An undici dispatcher whose connections reach public addresses only (IP literals are checked here; names by the lookup). */
export const publicOnlyDispatcher = new Agent({
  connect: (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && isInternalAddress(host)) {
      callback(refusal(host, host), null);
      return;
    }
    connectPublic(options, callback);
  },
});
