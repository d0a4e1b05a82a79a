import { FlagsNew, rt } from 'netlink';
import type { Cidr, Family } from '../destination-parser/address.js';
import { parseIp } from '../destination-parser/address.js';
import { addressFamily, bytesToIp, familyOf, ipToBytes } from './encoding.js';
import { InvalidArgumentError } from './errors.js';
import type { NetlinkHandle } from './handle.js';

/** The main routing table (RT_TABLE_MAIN). */
export const MAIN_TABLE = 254;

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
  const attrs: rt.RouteAttrs = { oif: ifindex };
  if (destination.prefix > 0) attrs.dst = ipToBytes(destination);
  if (gatewayIp !== undefined) attrs.gateway = ipToBytes(gatewayIp);
  await handle.request(operation, (socket) =>
    socket.newRoute(
      {
        family: addressFamily(destination.family),
        dstLen: destination.prefix,
        table: MAIN_TABLE,
        protocol: rt.RouteProtocol.STATIC,
        scope: gatewayIp === undefined ? rt.RouteScope.LINK : rt.RouteScope.UNIVERSE,
        type: rt.RouteType.UNICAST,
      },
      attrs,
      { flags: FlagsNew.CREATE | FlagsNew.REPLACE },
    ),
  );
}

/**
 * The routes of the main table, optionally of one family only.
 *
 * @param family 4 or 6; both when omitted
 */
export async function listRoutes(handle: NetlinkHandle, family?: Family): Promise<RouteEntry[]> {
  const messages = await handle.request('list routes', (socket) =>
    socket.getRoutes(family === undefined ? undefined : { family: addressFamily(family) }),
  );
  const result: RouteEntry[] = [];
  for (const { data, attrs } of messages) {
    const routeFamily = familyOf(data.family);
    if (routeFamily === undefined || (family !== undefined && routeFamily !== family)) continue;
    if ((attrs.table ?? data.table) !== MAIN_TABLE) continue;
    const prefix = data.dstLen ?? 0;
    const destination = attrs.dst === undefined ? unspecified(routeFamily) : bytesToIp(attrs.dst);
    result.push({
      family: routeFamily,
      destination: { ...destination, prefix },
      gateway: attrs.gateway === undefined ? undefined : bytesToIp(attrs.gateway).address,
      ifindex: attrs.oif,
      scope: name(data.scope),
      protocol: name(data.protocol),
      type: name(data.type),
      priority: attrs.priority,
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

function name(value: string | number | undefined): string {
  return String(value ?? 0).toLowerCase();
}
