import { lookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { isInternalAddress } from '../lib/internalAddresses';

export { isInternalAddress };

/**
 * Where an `http` leaf may connect. Reaching loopback, private, link-local
 * or otherwise internal addresses (the worker's own machine, Temporal's
 * unauthenticated HTTP API and Web UI, Postgres, cloud metadata) is the
 * same privilege as running shell commands, so only an agent that may run
 * `shell` has it. The check is made on the address each connection
 * actually uses (after DNS, on every redirect hop), not on the URL text.
 */

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
