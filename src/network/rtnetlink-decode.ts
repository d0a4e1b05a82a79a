/**
 * The rtnetlink answers this module reads, decoded, pure: struct ifinfomsg, ifaddrmsg, rtmsg and
 * fib_rule_hdr and the attributes links.ts, addresses.ts, routes.ts and overlay.ts use
 * (linux/rtnetlink.h, if_link.h, if_addr.h, fib_rules.h).
 * Attributes not known are skipped; what does not decode throws MalformedMessageError.
 */
import { MalformedMessageError } from './errors.js';
import {
  decodeAttributes,
  HostView,
  type NetlinkAttribute,
  type NetlinkMessage,
  readString,
  readU8,
  readU32,
} from './nlmsg.js';
import {
  FIB_RULE_HDR_LENGTH,
  FRA_FWMARK,
  FRA_FWMASK,
  FRA_PRIORITY,
  FRA_TABLE,
  RTM_NEWRULE,
} from './overlay-requests.js';
import {
  addressLength,
  IFA_ADDRESS,
  IFA_FLAGS,
  IFA_LOCAL,
  IFADDRMSG_LENGTH,
  IFINFOMSG_LENGTH,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_OPERSTATE,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTMSG_LENGTH,
} from './rtnetlink.js';

/** RTM_NEWLINK as the kernel answers RTM_GETLINK: struct ifinfomsg and the attributes read here. */
export interface LinkMessage {
  readonly index: number;
  /** ifi_flags: IFF_UP... */
  readonly flags: number;
  /** IFLA_IFNAME. */
  readonly name: string | undefined;
  /** IFLA_ADDRESS: the hardware address. */
  readonly address: Uint8Array | undefined;
  /** IFLA_OPERSTATE: IF_OPER_UP is 6, IF_OPER_UNKNOWN 0. */
  readonly operstate: number | undefined;
}

/** RTM_NEWADDR: struct ifaddrmsg and the attributes read here. */
export interface AddressMessage {
  /** AF_INET or AF_INET6. */
  readonly family: number;
  readonly prefixlen: number;
  /** IFA_FLAGS when present (it has the flags above bit 7), else ifa_flags. */
  readonly flags: number;
  readonly scope: number;
  readonly index: number;
  /** IFA_ADDRESS: the peer on a point-to-point link, else the same as IFA_LOCAL. */
  readonly address: Uint8Array | undefined;
  /** IFA_LOCAL: the interface's own address. */
  readonly local: Uint8Array | undefined;
}

/** RTM_NEWROUTE: struct rtmsg and the attributes read here. */
export interface RouteMessage {
  readonly family: number;
  readonly dstLen: number;
  readonly srcLen: number;
  readonly tos: number;
  /** RTA_TABLE when present (tables above 255), else rtm_table. */
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
  readonly dst: Uint8Array | undefined;
  readonly gateway: Uint8Array | undefined;
  readonly oif: number | undefined;
  readonly priority: number | undefined;
}

/**
 * An RTM_NEWLINK message.
 *
 * @throws MalformedMessageError for another type, a short ifinfomsg or attributes that do not decode
 */
export function decodeLink(message: NetlinkMessage): LinkMessage {
  const view = fixedHeader(message, RTM_NEWLINK, 'RTM_NEWLINK', IFINFOMSG_LENGTH);
  let name: string | undefined;
  let address: Uint8Array | undefined;
  let operstate: number | undefined;
  for (const attribute of decodeAttributes(message.payload, IFINFOMSG_LENGTH)) {
    if (attribute.type === IFLA_IFNAME) name = readString(attribute);
    else if (attribute.type === IFLA_ADDRESS) address = attribute.payload;
    else if (attribute.type === IFLA_OPERSTATE) operstate = readU8(attribute, 'IFLA_OPERSTATE');
  }
  return { index: view.i32(4), flags: view.u32(8), name, address, operstate };
}

/**
 * An RTM_NEWADDR message.
 *
 * @throws MalformedMessageError for another type, a short ifaddrmsg, attributes that do not decode or
 *   an address of the wrong length for its family
 */
export function decodeAddress(message: NetlinkMessage): AddressMessage {
  const view = fixedHeader(message, RTM_NEWADDR, 'RTM_NEWADDR', IFADDRMSG_LENGTH);
  const family = view.u8(0);
  let flags = view.u8(2);
  let address: Uint8Array | undefined;
  let local: Uint8Array | undefined;
  for (const attribute of decodeAttributes(message.payload, IFADDRMSG_LENGTH)) {
    if (attribute.type === IFA_ADDRESS) address = addressOf(family, attribute, 'IFA_ADDRESS');
    else if (attribute.type === IFA_LOCAL) local = addressOf(family, attribute, 'IFA_LOCAL');
    else if (attribute.type === IFA_FLAGS) flags = readU32(attribute, 'IFA_FLAGS');
  }
  return { family, prefixlen: view.u8(1), flags, scope: view.u8(3), index: view.u32(4), address, local };
}

/**
 * An RTM_NEWROUTE message.
 *
 * @throws MalformedMessageError for another type, a short rtmsg, attributes that do not decode or an
 *   address of the wrong length for its family
 */
export function decodeRoute(message: NetlinkMessage): RouteMessage {
  const view = fixedHeader(message, RTM_NEWROUTE, 'RTM_NEWROUTE', RTMSG_LENGTH);
  const family = view.u8(0);
  let table = view.u8(4);
  let dst: Uint8Array | undefined;
  let gateway: Uint8Array | undefined;
  let oif: number | undefined;
  let priority: number | undefined;
  for (const attribute of decodeAttributes(message.payload, RTMSG_LENGTH)) {
    if (attribute.type === RTA_DST) dst = addressOf(family, attribute, 'RTA_DST');
    else if (attribute.type === RTA_GATEWAY) gateway = addressOf(family, attribute, 'RTA_GATEWAY');
    else if (attribute.type === RTA_OIF) oif = readU32(attribute, 'RTA_OIF');
    else if (attribute.type === RTA_PRIORITY) priority = readU32(attribute, 'RTA_PRIORITY');
    else if (attribute.type === RTA_TABLE) table = readU32(attribute, 'RTA_TABLE');
  }
  return {
    family,
    dstLen: view.u8(1),
    srcLen: view.u8(2),
    tos: view.u8(3),
    table,
    protocol: view.u8(5),
    scope: view.u8(6),
    type: view.u8(7),
    flags: view.u32(8),
    dst,
    gateway,
    oif,
    priority,
  };
}

/** A rule as the kernel lists it: what the overlay's rules are told apart by. */
export interface RuleMessage {
  readonly family: number;
  readonly priority: number;
  readonly table: number;
  readonly fwmark?: number;
  readonly fwmask?: number;
}

/**
 * An RTM_NEWRULE message of a dump.
 *
 * @throws MalformedMessageError for another type, a short fib_rule_hdr or attributes that do not decode
 */
export function decodeRule(message: NetlinkMessage): RuleMessage {
  const view = fixedHeader(message, RTM_NEWRULE, 'RTM_NEWRULE', FIB_RULE_HDR_LENGTH);
  let priority = 0;
  let table = view.u8(4);
  let fwmark: number | undefined;
  let fwmask: number | undefined;
  for (const attribute of decodeAttributes(message.payload, FIB_RULE_HDR_LENGTH)) {
    if (attribute.type === FRA_PRIORITY) priority = readU32(attribute, 'FRA_PRIORITY');
    else if (attribute.type === FRA_TABLE) table = readU32(attribute, 'FRA_TABLE');
    else if (attribute.type === FRA_FWMARK) fwmark = readU32(attribute, 'FRA_FWMARK');
    else if (attribute.type === FRA_FWMASK) fwmask = readU32(attribute, 'FRA_FWMASK');
  }
  return {
    family: view.u8(0),
    priority,
    table,
    ...(fwmark === undefined ? {} : { fwmark }),
    ...(fwmask === undefined ? {} : { fwmask }),
  };
}

function fixedHeader(message: NetlinkMessage, type: number, name: string, length: number): HostView {
  if (message.type !== type) {
    throw new MalformedMessageError(`expected ${name} (${type}), got message type ${message.type}`);
  }
  if (message.payload.length < length) {
    throw new MalformedMessageError(
      `${name} payload of ${message.payload.length} bytes, not at least ${length}`,
    );
  }
  return new HostView(message.payload);
}

/** An address attribute's bytes, checked against the family's length (other families: as they are). */
function addressOf(family: number, attribute: NetlinkAttribute, what: string): Uint8Array {
  const expected = addressLength(family);
  if (expected !== undefined && attribute.payload.length !== expected) {
    throw new MalformedMessageError(
      `${what} has ${attribute.payload.length} bytes, not ${expected} for family ${family}`,
    );
  }
  return attribute.payload;
}
