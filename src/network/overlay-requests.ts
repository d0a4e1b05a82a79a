/**
 * The rtnetlink requests of the egress IP overlay (docs/egress-ips.md), pure: a VXLAN device in
 * collect-metadata mode, permanent neighbours, policy routing rules, routes in a table that
 * encapsulate (`encap ip dst`) through an onlink next hop, and address removal. Constants from
 * linux/rtnetlink.h, if_link.h, neighbour.h, fib_rules.h and lwtunnel.h.
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
import {
  IFA_ADDRESS,
  IFA_LOCAL,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_TABLE,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from './rtnetlink.js';

export const RTM_DELADDR = 21;
export const RTM_DELROUTE = 25;
export const RTM_NEWNEIGH = 28;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;

const IFLA_MTU = 4;
const IFLA_VXLAN_LEARNING = 7;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_COLLECT_METADATA = 25;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const NUD_PERMANENT = 0x80;
const FRA_DST = 1;
export const FRA_PRIORITY = 6;
export const FRA_FWMARK = 10;
export const FRA_TABLE = 15;
export const FRA_FWMASK = 16;
const FR_ACT_TO_TBL = 1;
/** struct fib_rule_hdr. */
export const FIB_RULE_HDR_LENGTH = 12;
const RTA_ENCAP_TYPE = 21;
const RTA_ENCAP = 22;
const LWTUNNEL_ENCAP_IP = 2;
const LWTUNNEL_IP_ID = 1;
const LWTUNNEL_IP_DST = 2;
const RTNH_F_ONLINK = 4;
const RT_TABLE_UNSPEC = 0;
const RTPROT_STATIC = 4;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;

/** A VXLAN device that takes its remote end from each route (`vxlan external`). */
export interface VxlanRequest {
  readonly name: string;
  /** Its MAC (6 bytes). */
  readonly mac: Uint8Array;
  /** The UDP port it listens on and sends to. */
  readonly port: number;
  /** Its MTU: the uplink's less the 50 bytes VXLAN over IPv4 adds (else the outer packets fragment). */
  readonly mtu?: number;
}

/**
 * RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: `ip link add NAME address MAC type vxlan external
 * dstport PORT nolearning`.
 */
export function createVxlanRequest({ name, mac, port, mtu }: VxlanRequest): NetlinkRequest {
  if (mac.length !== 6) throw new RangeError(`a MAC has 6 bytes, not ${mac.length}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`port out of range 1..65535: ${port}`);
  const portBytes = new Uint8Array([port >> 8, port & 0xff]);
  const data = encodeNested(IFLA_INFO_DATA, [
    encodeAttribute(IFLA_VXLAN_COLLECT_METADATA, new Uint8Array([1])),
    encodeAttribute(IFLA_VXLAN_LEARNING, new Uint8Array([0])),
    encodeAttribute(IFLA_VXLAN_PORT, portBytes),
  ]);
  const linkinfo = encodeNested(IFLA_LINKINFO, [encodeStringAttribute(IFLA_INFO_KIND, 'vxlan'), data], false);
  const payload = concat([
    new Uint8Array(16),
    encodeStringAttribute(IFLA_IFNAME, name),
    encodeAttribute(IFLA_ADDRESS, mac),
    ...(mtu === undefined ? [] : [encodeU32Attribute(IFLA_MTU, mtu)]),
    linkinfo,
  ]);
  return { type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, payload };
}

/** A permanent neighbour: `ip neigh replace ADDRESS lladdr MAC dev IFINDEX nud permanent`. */
export function replaceNeighbourRequest(
  family: number,
  ifindex: number,
  address: Uint8Array,
  mac: Uint8Array,
): NetlinkRequest {
  const header = new Uint8Array(12);
  const view = new HostView(header);
  view.setU8(0, family);
  view.setI32(4, ifindex);
  header[8] = NUD_PERMANENT & 0xff;
  header[9] = NUD_PERMANENT >> 8;
  return {
    type: RTM_NEWNEIGH,
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    payload: concat([header, encodeAttribute(NDA_DST, address), encodeAttribute(NDA_LLADDR, mac)]),
  };
}

/** A policy routing rule: `ip rule add [fwmark M/MASK] [to DST/LEN] lookup TABLE pref PRIORITY`. */
export interface RuleRequest {
  readonly family: number;
  readonly priority: number;
  readonly table: number;
  readonly fwmark?: { readonly mark: number; readonly mask: number };
  readonly to?: { readonly address: Uint8Array; readonly prefix: number };
}

/**
 * RTM_NEWRULE (NLM_F_CREATE|NLM_F_EXCL) or RTM_DELRULE for one rule: struct fib_rule_hdr (action
 * FR_ACT_TO_TBL), FRA_PRIORITY, FRA_TABLE, and FRA_FWMARK/FRA_FWMASK or FRA_DST.
 */
export function ruleRequest(op: 'add' | 'delete', rule: RuleRequest): NetlinkRequest {
  const header = new Uint8Array(12);
  header[0] = rule.family;
  header[1] = rule.to?.prefix ?? 0;
  header[4] = rule.table < 256 ? rule.table : RT_TABLE_UNSPEC;
  header[7] = FR_ACT_TO_TBL;
  const attributes = [
    encodeU32Attribute(FRA_PRIORITY, rule.priority),
    encodeU32Attribute(FRA_TABLE, rule.table),
  ];
  if (rule.fwmark) {
    attributes.push(
      encodeU32Attribute(FRA_FWMARK, rule.fwmark.mark),
      encodeU32Attribute(FRA_FWMASK, rule.fwmark.mask),
    );
  }
  if (rule.to) attributes.push(encodeAttribute(FRA_DST, rule.to.address));
  return {
    type: op === 'add' ? RTM_NEWRULE : RTM_DELRULE,
    flags: op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0,
    payload: concat([header, ...attributes]),
  };
}

/** RTM_GETRULE dump: one family's policy routing rules (`ip rule show`). */
export function dumpRulesRequest(family: number): NetlinkRequest {
  const payload = new Uint8Array(FIB_RULE_HDR_LENGTH);
  payload[0] = family;
  return { type: RTM_GETRULE, flags: NLM_F_DUMP, payload };
}

/** A default route in a table through the overlay: `ip route replace default via HOP dev IFINDEX onlink encap ip id ID dst REMOTE table T`. */
export interface TunnelRouteRequest {
  readonly family: number;
  readonly table: number;
  readonly ifindex: number;
  /** The onlink next hop (a permanent neighbour holds its MAC). */
  readonly via: Uint8Array;
  /** The outer destination: the hosting node's IPv4 address. */
  readonly remote: Uint8Array;
  /** The VXLAN network identifier. */
  readonly id: number;
}

/** RTM_NEWROUTE (replace) of that default route. */
export function tunnelRouteRequest(route: TunnelRouteRequest): NetlinkRequest {
  if (route.remote.length !== 4) throw new RangeError('the overlay runs over IPv4: a 4-byte remote address');
  const header = defaultRouteHeader(route.family, route.table);
  new HostView(header).setU32(8, RTNH_F_ONLINK);
  const id = new Uint8Array(8);
  new DataView(id.buffer).setBigUint64(0, BigInt(route.id));
  const encapType = new Uint8Array(2);
  new DataView(encapType.buffer).setUint16(0, LWTUNNEL_ENCAP_IP, true);
  const attributes = [
    encodeU32Attribute(RTA_TABLE, route.table),
    encodeU32Attribute(RTA_OIF, route.ifindex),
    encodeAttribute(RTA_GATEWAY, route.via),
    encodeAttribute(RTA_ENCAP_TYPE, encapType),
    encodeNested(RTA_ENCAP, [
      encodeAttribute(LWTUNNEL_IP_ID, id),
      encodeAttribute(LWTUNNEL_IP_DST, route.remote),
    ]),
  ];
  return {
    type: RTM_NEWROUTE,
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    payload: concat([header, ...attributes]),
  };
}

/**
 * RTM_DELROUTE of a table's default route through an interface (`ip route del default dev IFINDEX
 * table T`): its next hop and encapsulation are not needed to find it.
 */
export function deleteTableRouteRequest(family: number, table: number, ifindex: number): NetlinkRequest {
  return {
    type: RTM_DELROUTE,
    flags: 0,
    payload: concat([
      defaultRouteHeader(family, table),
      encodeU32Attribute(RTA_TABLE, table),
      encodeU32Attribute(RTA_OIF, ifindex),
    ]),
  };
}

/** struct rtmsg of a static unicast default route in a table (the table in rtm_table when it fits). */
function defaultRouteHeader(family: number, table: number): Uint8Array {
  const header = new Uint8Array(12);
  const fields = [
    family,
    0,
    0,
    0,
    table < 256 ? table : RT_TABLE_UNSPEC,
    RTPROT_STATIC,
    RT_SCOPE_UNIVERSE,
    RTN_UNICAST,
  ];
  header.set(fields);
  return header;
}

/** RTM_SETLINK with IFLA_MTU: `ip link set dev IFINDEX mtu MTU`. */
export function setMtuRequest(ifindex: number, mtu: number): NetlinkRequest {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
    throw new RangeError(`MTU out of range 68..65535: ${mtu}`);
  const header = new Uint8Array(16);
  new HostView(header).setI32(4, ifindex);
  return { type: RTM_SETLINK, flags: 0, payload: concat([header, encodeU32Attribute(IFLA_MTU, mtu)]) };
}

/** RTM_DELADDR: `ip addr del ADDRESS/PREFIX dev IFINDEX`. */
export function deleteAddressRequest(
  family: number,
  ifindex: number,
  address: Uint8Array,
  prefix: number,
): NetlinkRequest {
  const header = new Uint8Array(8);
  const view = new HostView(header);
  view.setU8(0, family);
  view.setU8(1, prefix);
  view.setU32(4, ifindex);
  return {
    type: RTM_DELADDR,
    flags: 0,
    payload: concat([header, encodeAttribute(IFA_LOCAL, address), encodeAttribute(IFA_ADDRESS, address)]),
  };
}
