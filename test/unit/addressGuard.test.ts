import { isInternalAddress } from '../../src/activities/addressGuard';

describe('isInternalAddress', () => {
  it.each([
    '127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
    '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '[::1]', '::ffff:7f00:1', 'fe80::1%eth0',
  ])('%s is internal', (a) => expect(isInternalAddress(a)).toBe(true));
  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', 'example.com'])('%s is not', (a) => expect(isInternalAddress(a)).toBe(false));

  // Addresses that embed an IPv4 reach that IPv4 through a translator or tunnel: judged by it.
  it.each([
    ['NAT64', '64:ff9b::7f00:1'],
    ['NAT64, dotted', '64:ff9b::169.254.169.254'],
    ['IPv4-compatible', '::7f00:1'],
    ['IPv4-compatible, dotted', '::10.0.0.1'],
    ['SIIT translated', '::ffff:0:a9fe:a9fe'],
    ['6to4', '2002:7f00:1::'],
    ['6to4 of 10/8', '2002:a00:1:1::1'],
    ['Teredo, internal server', '2001:0:a00:1::1'],
    ['Teredo, internal client (inverted bits)', '2001:0:808:808::80ff:fefe'],
  ])('%s %s is internal', (_kind, a) => expect(isInternalAddress(a)).toBe(true));
  it.each([
    ['NAT64', '64:ff9b::808:808'],
    ['6to4', '2002:808:808::1'],
    ['Teredo', '2001:0:808:808::f7f7:f7f7'],
  ])('%s %s of a public IPv4 is not', (_kind, a) => expect(isInternalAddress(a)).toBe(false));

  // Outside global unicast (2000::/3) nothing is public, whatever a deny-list forgets.
  it.each(['64:ff9b:1::a00:1', '64:ff9b:1:ffff::1', 'fec0::1', 'feff::1', '100::1', '4000::1', '2001:db8::1'])('%s is internal', (a) => expect(isInternalAddress(a)).toBe(true));
});
