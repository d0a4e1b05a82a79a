import type { Cidr, Family } from '../destination-parser/address.js';
import { parseIp } from '../destination-parser/address.js';
import { addressFamily, bytesToIp, familyOf, ipToBytes } from './encoding.js';
import { InvalidArgumentError } from './errors.js';
import type { NetlinkHandle } from './handle.js';
import { dumpRoutesRequest, replaceRouteRequest } from './rtnetlink.js';
import { decodeRoute } from './rtnetlink-decode.js';

/** The main routing table (RT_TABLE_MAIN). */
export const MAIN_TABLE = 254;

/** rtm_scope, rtm_protocol and rtm_type values (linux/rtnetlink.h) and the names listRoutes gives them. */
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTPROT_STATIC = 4;
const RTN_UNICAST = 1;
const SCOPE_NAMES: Readonly<Record<number, string>> = {
  0: 'universe',
  200: 'site',
  253: 'link',
  254: 'host',
  255: 'nowhere',
};
const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  17: 'mrouted',
  42: 'babel',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'unspec',
  1: 'unicast',
  2: 'local',
  3: 'broadcast',
  4: 'anycast',
  5: 'multicast',
  6: 'blackhole',
  7: 'unreachable',
  8: 'prohibit',
  9: 'throw',
  10: 'nat',
  11: 'xresolve',
};

/** A route to install: a device route when there is no gateway, a route via the gateway otherwise. */
export interface RouteSpec {
  /** The destination; prefix 0 (`0.0.0.0/0`, `::/0`) is the default route. */
  readonly destination: Cidr;
  /** The next hop, of the destination's family (an IPv6 link-local gateway such as `fe80::1` is fine). */
  readonly gateway?: string;
  /** The output interface index. */
  readonly ifindex: number;
}

/** A route of the main table, as listRoutes reports it. */
export interface RouteEntry {
  readonly family: Family;
  /** The destination; `0.0.0.0/0` or `::/0` for the default route. */
  readonly destination: Cidr;
  readonly gateway: string | undefined;
  /** The output interface index, when the route has one. */
  readonly ifindex: number | undefined;
  /** `universe`, `link`, `host`... as `ip route` names them (or the number when unnamed). */
  readonly scope: string;
  /** `kernel`, `boot`, `static`, `ra`... (or the number when unnamed). */
  readonly protocol: string;
  /** `unicast`, `blackhole`... (or the number when unnamed). */
  readonly type: string;
  /** The metric, when set. */
  readonly priority: number | undefined;
}

/**
 * Installs a route in the main table with RTM_NEWROUTE and NLM_F_CREATE|NLM_F_REPLACE (`ip route
 * replace`): a route to the same destination with the same metric is replaced atomically, so a
 * default route replaces the existing default route (of metric 0 for IPv4, 1024 for IPv6).
 * A route without gateway gets scope link; routes are marked `proto static`.
 *
 * @throws InvalidArgumentError when the gateway is not an address of the destination's family
 * @throws NetworkUnreachableError (ENETUNREACH) when the gateway is not reachable on that device
 * @throws NoSuchDeviceError (ENODEV) when there is no interface with that index
 */
export async function replaceRoute(handle: NetlinkHandle, route: RouteSpec): Promise<void> {
  const { destination, gateway, ifindex } = route;
  const via = gateway === undefined ? '' : ` via ${gateway}`;
  const operation = `replace route ${describeDestination(destination)}${via} dev index ${ifindex}`;
  const gatewayIp = gateway === undefined ? undefined : parseIp(gateway);
  if (gateway !== undefined && gatewayIp?.family !== destination.family) {
    throw new InvalidArgumentError(
      operation,
      `gateway '${gateway}' is not an IPv${destination.family} address`,
    );
  }
  const dst = destination.prefix > 0 ? ipToBytes(destination) : undefined;
  await handle.request(operation, () =>
    replaceRouteRequest({
      family: addressFamily(destination.family),
      dstLen: destination.prefix,
      table: MAIN_TABLE,
      protocol: RTPROT_STATIC,
      scope: gatewayIp === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
      type: RTN_UNICAST,
      oif: ifindex,
      ...(dst === undefined ? {} : { dst }),
      ...(gatewayIp === undefined ? {} : { gateway: ipToBytes(gatewayIp) }),
    }),
  );
}

/**
 * The routes of the main table, optionally of one family only.
 *
 * @param family 4 or 6; both when omitted
 */
export async function listRoutes(handle: NetlinkHandle, family?: Family): Promise<RouteEntry[]> {
  const messages = await handle.request(
    'list routes',
    () => dumpRoutesRequest(family === undefined ? 0 : addressFamily(family)),
    decodeRoute,
  );
  const result: RouteEntry[] = [];
  for (const route of messages) {
    const routeFamily = familyOf(route.family);
    if (routeFamily === undefined || (family !== undefined && routeFamily !== family)) continue;
    if (route.table !== MAIN_TABLE) continue;
    const destination = route.dst === undefined ? unspecified(routeFamily) : bytesToIp(route.dst);
    result.push({
      family: routeFamily,
      destination: { ...destination, prefix: route.dstLen },
      gateway: route.gateway === undefined ? undefined : bytesToIp(route.gateway).address,
      ifindex: route.oif,
      scope: SCOPE_NAMES[route.scope] ?? String(route.scope),
      protocol: PROTOCOL_NAMES[route.protocol] ?? String(route.protocol),
      type: TYPE_NAMES[route.type] ?? String(route.type),
      priority: route.priority,
    });
  }
  return result;
}

function unspecified(family: Family) {
  return family === 4 ? { address: '0.0.0.0', family } : { address: '::', family };
}

function describeDestination(destination: Cidr): string {
  return destination.prefix === 0 ? 'default' : `${destination.address}/${destination.prefix}`;
}
