/**
 * The egress IP overlay's kernel side (docs/egress-ips.md): a VXLAN device that takes its remote
 * end from each route, permanent neighbours for the onlink next hops, policy routing rules, the
 * default routes of the per-node tables, and address removal. Every function is idempotent: what is
 * already as wanted (or already gone) is not an error.
 */
import type { Cidr } from '../destination-parser/address.js';
import { addressFamily, ipToBytes } from './encoding.js';
import { AddressNotAvailableError, AlreadyExistsError, NotFoundError } from './errors.js';
import type { NetlinkHandle } from './handle.js';
import { type Link, linkByName } from './links.js';
import {
  createVxlanRequest,
  deleteAddressRequest,
  deleteTableRouteRequest,
  dumpRulesRequest,
  replaceNeighbourRequest,
  ruleRequest,
  setMtuRequest,
  tunnelRouteRequest,
} from './overlay-requests.js';
import { decodeRule } from './rtnetlink-decode.js';

/** A MAC address as `02:65:67:00:00:0b`, to bytes. */
export function macBytes(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new RangeError(`not a MAC address: ${text}`);
  return new Uint8Array(parts.map((p) => Number.parseInt(p, 16)));
}

/**
 * Creates the VXLAN device in collect-metadata mode, down (`ip link add NAME address MAC type vxlan
 * external dstport PORT nolearning`), unless an interface of that name exists.
 *
 * @returns the interface, and whether it was made now
 */
export async function ensureVxlan(
  handle: NetlinkHandle,
  name: string,
  mac: string,
  port: number,
  mtu?: number,
): Promise<{ link: Link; created: boolean }> {
  try {
    await handle.request(`create vxlan '${name}' (external, port ${port})`, () =>
      createVxlanRequest({ name, mac: macBytes(mac), port, ...(mtu === undefined ? {} : { mtu }) }),
    );
    return { link: await linkByName(handle, name), created: true };
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    return { link: await linkByName(handle, name), created: false };
  }
}

/** `ip link set dev IFINDEX mtu MTU`. */
export async function setLinkMtu(handle: NetlinkHandle, ifindex: number, mtu: number): Promise<void> {
  await handle.request(`set the MTU of interface index ${ifindex} to ${mtu}`, () =>
    setMtuRequest(ifindex, mtu),
  );
}

/** `ip neigh replace ADDRESS lladdr MAC dev IFINDEX nud permanent`. */
export async function replaceNeighbour(
  handle: NetlinkHandle,
  ifindex: number,
  address: Cidr,
  mac: string,
): Promise<void> {
  await handle.request(`set neighbour ${address.address} to ${mac} on interface index ${ifindex}`, () =>
    replaceNeighbourRequest(addressFamily(address.family), ifindex, ipToBytes(address), macBytes(mac)),
  );
}

/** A policy routing rule, as ensureRule and deleteRule take it. */
export interface RuleSpec {
  readonly family: 4 | 6;
  readonly priority: number;
  readonly table: number;
  readonly fwmark?: { readonly mark: number; readonly mask: number };
  readonly to?: Cidr;
}

function describeRule(rule: RuleSpec): string {
  const mark = rule.fwmark
    ? ` fwmark 0x${rule.fwmark.mark.toString(16)}/0x${rule.fwmark.mask.toString(16)}`
    : '';
  const to = rule.to ? ` to ${rule.to.address}/${rule.to.prefix}` : '';
  return `IPv${rule.family} rule pref ${rule.priority}${mark}${to} lookup ${rule.table}`;
}

function ruleRequestOf(op: 'add' | 'delete', rule: RuleSpec) {
  return ruleRequest(op, {
    family: addressFamily(rule.family),
    priority: rule.priority,
    table: rule.table,
    ...(rule.fwmark ? { fwmark: rule.fwmark } : {}),
    ...(rule.to ? { to: { address: ipToBytes(rule.to), prefix: rule.to.prefix } } : {}),
  });
}

/**
 * Adds the rule unless the same one is there.
 *
 * @returns whether it was added now
 */
export async function ensureRule(handle: NetlinkHandle, rule: RuleSpec): Promise<boolean> {
  try {
    await handle.request(`add ${describeRule(rule)}`, () => ruleRequestOf('add', rule));
    return true;
  } catch (error) {
    if (error instanceof AlreadyExistsError) return false;
    throw error;
  }
}

/**
 * Deletes the rule if it is there.
 *
 * @returns whether there was one
 */
export async function deleteRule(handle: NetlinkHandle, rule: RuleSpec): Promise<boolean> {
  try {
    await handle.request(`delete ${describeRule(rule)}`, () => ruleRequestOf('delete', rule));
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/** The default route of a hosting node's table. */
export interface TunnelRouteSpec {
  readonly family: 4 | 6;
  readonly table: number;
  readonly ifindex: number;
  /** The onlink next hop: link-local, with a permanent neighbour. */
  readonly via: string;
  /** The hosting node's IPv4 address: the outer destination. */
  readonly remote: string;
  readonly id: number;
}

/** `ip route replace default via VIA dev IFINDEX onlink encap ip id ID dst REMOTE table TABLE`. */
export async function replaceTunnelRoute(handle: NetlinkHandle, route: TunnelRouteSpec): Promise<void> {
  await handle.request(
    `replace IPv${route.family} default route of table ${route.table} via ${route.via} encap to ${route.remote}`,
    () =>
      tunnelRouteRequest({
        family: addressFamily(route.family),
        table: route.table,
        ifindex: route.ifindex,
        via: ipToBytes(route.via),
        remote: ipToBytes(route.remote),
        id: route.id,
      }),
  );
}

/**
 * Deletes a table's default route through an interface if it is there (its next hop and
 * encapsulation need not be known: a rule left by an earlier run names only the table).
 *
 * @returns whether there was one
 */
export async function deleteTunnelRoute(
  handle: NetlinkHandle,
  route: Pick<TunnelRouteSpec, 'family' | 'table' | 'ifindex'>,
): Promise<boolean> {
  try {
    await handle.request(`delete IPv${route.family} default route of table ${route.table}`, () =>
      deleteTableRouteRequest(addressFamily(route.family), route.table, route.ifindex),
    );
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/**
 * One family's policy routing rules (`ip rule show`): priority, table and fwmark/mask, the fields
 * the overlay's rules are recognised by.
 */
export async function listRules(
  handle: NetlinkHandle,
  family: 4 | 6,
): Promise<{ priority: number; table: number; fwmark?: { mark: number; mask: number } }[]> {
  const messages = await handle.request(
    `list IPv${family} rules`,
    () => dumpRulesRequest(addressFamily(family)),
    decodeRule,
  );
  return messages
    .filter((m) => m.family === addressFamily(family))
    .map((m) => ({
      priority: m.priority,
      table: m.table,
      ...(m.fwmark === undefined ? {} : { fwmark: { mark: m.fwmark, mask: m.fwmask ?? 0xffffffff } }),
    }));
}

/**
 * Removes an address from an interface if it is there (`ip addr del`).
 *
 * @returns whether it was there
 */
export async function removeAddress(handle: NetlinkHandle, ifindex: number, cidr: Cidr): Promise<boolean> {
  try {
    await handle.request(
      `remove address ${cidr.address}/${cidr.prefix} from interface index ${ifindex}`,
      () => deleteAddressRequest(addressFamily(cidr.family), ifindex, ipToBytes(cidr), cidr.prefix),
    );
    return true;
  } catch (error) {
    if (error instanceof AddressNotAvailableError) return false;
    throw error;
  }
}
