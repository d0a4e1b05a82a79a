/**
 * The rtnetlink requests this module sends, pure: request builders (a NetlinkRequest, the handle
 * adds the header) for what links.ts, addresses.ts, routes.ts and lab.ts do, and the constants of
 * struct ifinfomsg, ifaddrmsg and rtmsg and the attributes used (linux/rtnetlink.h, if_link.h,
 * if_addr.h). The answers are decoded in rtnetlink-decode.ts.
 */
import {
  concat,
  encodeAttribute,
  encodeNested,
  encodeStringAttribute,
  encodeU32Attribute,
  HostView,
  type NetlinkRequest,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
} from './nlmsg.js';

/** Message types (linux/rtnetlink.h). */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_GETROUTE = 26;

/** Link attributes (linux/if_link.h). */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_LINK = 5;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_NET_NS_FD = 28;
/** IFLA_LINKINFO's nested attributes. */
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
/** IFLA_INFO_DATA's attribute for kind `macvlan`. */
export const IFLA_MACVLAN_MODE = 1;

/** Address attributes and flags (linux/if_addr.h). */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;
export const IFA_F_TENTATIVE = 0x40;

/** Route attributes (linux/rtnetlink.h). */
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_TABLE = 15;

/** IFF_UP (linux/if.h). */
export const IFF_UP = 0x1;

const AF_INET = 2;
const AF_INET6 = 10;
/** struct ifinfomsg, ifaddrmsg and rtmsg. */
export const IFINFOMSG_LENGTH = 16;
export const IFADDRMSG_LENGTH = 8;
export const RTMSG_LENGTH = 12;

/** What replaceRouteRequest sends: struct rtmsg's fields and the attributes. */
export interface RouteRequest {
  readonly family: number;
  readonly dstLen: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly oif: number;
  /** Omitted for the default route. */
  readonly dst?: Uint8Array;
  readonly gateway?: Uint8Array;
}

/** What addAddressRequest sends. */
export interface AddressRequest {
  readonly family: number;
  readonly prefixlen: number;
  readonly index: number;
  /** Sent as IFA_LOCAL and IFA_ADDRESS. */
  readonly address: Uint8Array;
  /** IFA_F_NODAD, for IPv6: usable at once, no duplicate address detection. */
  readonly nodad: boolean;
}

/** What createMacvlanRequest sends. */
export interface MacvlanRequest {
  readonly name: string;
  readonly parentIndex: number;
  /** enum macvlan_mode: 1 private, 2 vepa, 4 bridge, 8 passthru, 16 source. */
  readonly mode: number;
}

interface IfInfo {
  readonly index?: number;
  readonly flags?: number;
  readonly change?: number;
}

function ifinfomsg({ index = 0, flags = 0, change = 0 }: IfInfo, ...attributes: Uint8Array[]): Uint8Array {
  const header = new Uint8Array(IFINFOMSG_LENGTH);
  const view = new HostView(header);
  // ifi_family, pad, ifi_type: 0.
  view.setI32(4, index);
  view.setU32(8, flags);
  view.setU32(12, change);
  return concat([header, ...attributes]);
}

/**
 * RTM_GETLINK for one interface, by index or by name (IFLA_IFNAME).
 *
 * @throws RangeError for an index that is not a positive 31-bit integer
 */
export function getLinkRequest(
  selector: { readonly index: number } | { readonly name: string },
): NetlinkRequest {
  const payload =
    'index' in selector
      ? ifinfomsg({ index: checkIndex(selector.index) })
      : ifinfomsg({}, encodeStringAttribute(IFLA_IFNAME, selector.name));
  return { type: RTM_GETLINK, flags: 0, payload };
}

/** RTM_GETLINK dump: every interface. */
export function dumpLinksRequest(): NetlinkRequest {
  return { type: RTM_GETLINK, flags: NLM_F_DUMP, payload: ifinfomsg({}) };
}

/** RTM_SETLINK that sets IFF_UP (ifi_change and ifi_flags), as `ip link set dev X up`. */
export function setLinkUpRequest(index: number): NetlinkRequest {
  return {
    type: RTM_SETLINK,
    flags: 0,
    payload: ifinfomsg({ index: checkIndex(index), flags: IFF_UP, change: IFF_UP }),
  };
}

/** RTM_SETLINK with IFLA_ADDRESS: sets the hardware address. */
export function setLinkAddressRequest(index: number, address: Uint8Array): NetlinkRequest {
  return {
    type: RTM_SETLINK,
    flags: 0,
    payload: ifinfomsg({ index: checkIndex(index) }, encodeAttribute(IFLA_ADDRESS, address)),
  };
}

/**
 * RTM_SETLINK with IFLA_NET_NS_FD (a namespace file descriptor) or IFLA_NET_NS_PID (the namespace of
 * a process): moves the interface to that network namespace.
 */
export function moveLinkRequest(
  index: number,
  netns: { readonly fd: number } | { readonly pid: number },
): NetlinkRequest {
  const attribute =
    'fd' in netns
      ? encodeU32Attribute(IFLA_NET_NS_FD, netns.fd)
      : encodeU32Attribute(IFLA_NET_NS_PID, netns.pid);
  return { type: RTM_SETLINK, flags: 0, payload: ifinfomsg({ index: checkIndex(index) }, attribute) };
}

/** RTM_DELLINK. */
export function deleteLinkRequest(index: number): NetlinkRequest {
  return { type: RTM_DELLINK, flags: 0, payload: ifinfomsg({ index: checkIndex(index) }) };
}

/**
 * RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: a macvlan on a parent, `ip link add link P name N type
 * macvlan mode M`: IFLA_IFNAME, IFLA_LINK (u32) and IFLA_LINKINFO { IFLA_INFO_KIND "macvlan",
 * IFLA_INFO_DATA { IFLA_MACVLAN_MODE (u32) } }.
 */
export function createMacvlanRequest({ name, parentIndex, mode }: MacvlanRequest): NetlinkRequest {
  const linkinfo = encodeNested(
    IFLA_LINKINFO,
    [
      encodeStringAttribute(IFLA_INFO_KIND, 'macvlan'),
      encodeNested(IFLA_INFO_DATA, [encodeU32Attribute(IFLA_MACVLAN_MODE, mode)]),
    ],
    // IFLA_LINKINFO without NLA_F_NESTED, as iproute2 sends it; the kernel takes either.
    false,
  );
  const payload = ifinfomsg(
    {},
    encodeStringAttribute(IFLA_IFNAME, name),
    encodeU32Attribute(IFLA_LINK, checkIndex(parentIndex)),
    linkinfo,
  );
  return { type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, payload };
}

/**
 * RTM_NEWADDR with NLM_F_CREATE|NLM_F_EXCL (`ip addr add`): IFA_LOCAL and IFA_ADDRESS the same
 * address, IFA_FLAGS (u32) besides ifa_flags (the kernel prefers the u32), scope global.
 *
 * @throws RangeError when the address does not have its family's length
 */
export function addAddressRequest({
  family,
  prefixlen,
  index,
  address,
  nodad,
}: AddressRequest): NetlinkRequest {
  checkAddress(family, address, 'address');
  checkPrefix(family, prefixlen);
  const flags = nodad ? IFA_F_NODAD : 0;
  const header = new Uint8Array(IFADDRMSG_LENGTH);
  const view = new HostView(header);
  view.setU8(0, family);
  view.setU8(1, prefixlen);
  view.setU8(2, flags);
  view.setU8(3, 0);
  view.setU32(4, checkIndex(index));
  const payload = concat([
    header,
    encodeAttribute(IFA_LOCAL, address),
    encodeAttribute(IFA_ADDRESS, address),
    encodeU32Attribute(IFA_FLAGS, flags),
  ]);
  return { type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL, payload };
}

/** RTM_GETADDR dump: the addresses of every interface, both families. */
export function dumpAddressesRequest(): NetlinkRequest {
  return { type: RTM_GETADDR, flags: NLM_F_DUMP, payload: new Uint8Array(IFADDRMSG_LENGTH) };
}

/**
 * RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE (`ip route replace`): struct rtmsg, then RTA_OIF,
 * RTA_DST (when given) and RTA_GATEWAY (when given). The table goes in rtm_table (it is below 256).
 *
 * @throws RangeError when an address does not have its family's length or a number its field's width
 */
export function replaceRouteRequest(route: RouteRequest): NetlinkRequest {
  checkPrefix(route.family, route.dstLen);
  if (route.table > 255) throw new RangeError(`table out of range 0..255: ${route.table}`);
  const header = new Uint8Array(RTMSG_LENGTH);
  const view = new HostView(header);
  const fields = [route.family, route.dstLen, 0, 0, route.table, route.protocol, route.scope, route.type];
  for (const [i, value] of fields.entries()) view.setU8(i, value);
  const attributes = [encodeU32Attribute(RTA_OIF, checkIndex(route.oif))];
  if (route.dst !== undefined) {
    checkAddress(route.family, route.dst, 'destination');
    attributes.push(encodeAttribute(RTA_DST, route.dst));
  }
  if (route.gateway !== undefined) {
    checkAddress(route.family, route.gateway, 'gateway');
    attributes.push(encodeAttribute(RTA_GATEWAY, route.gateway));
  }
  return {
    type: RTM_NEWROUTE,
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    payload: concat([header, ...attributes]),
  };
}

/**
 * RTM_GETROUTE dump: the routes of every table.
 *
 * @param family AF_INET or AF_INET6 to have the kernel dump only that family; both when omitted
 */
export function dumpRoutesRequest(family = 0): NetlinkRequest {
  const payload = new Uint8Array(RTMSG_LENGTH);
  payload[0] = family;
  return { type: RTM_GETROUTE, flags: NLM_F_DUMP, payload };
}

export function addressLength(family: number): number | undefined {
  if (family === AF_INET) return 4;
  if (family === AF_INET6) return 16;
  return undefined;
}

function checkAddress(family: number, address: Uint8Array, what: string): void {
  const expected = addressLength(family);
  if (expected === undefined) throw new RangeError(`not AF_INET or AF_INET6: family ${family}`);
  if (address.length !== expected) {
    throw new RangeError(`${what} of family ${family} has ${expected} bytes, not ${address.length}`);
  }
}

function checkPrefix(family: number, prefix: number): void {
  const max = (addressLength(family) ?? 16) * 8;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new RangeError(`prefix length out of range 0..${max}: ${prefix}`);
  }
}

function checkIndex(index: number): number {
  if (!Number.isInteger(index) || index < 1 || index > 0x7fffffff) {
    throw new RangeError(`interface index out of range 1..2147483647: ${index}`);
  }
  return index;
}
