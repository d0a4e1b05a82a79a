/**
 * A small typed API over rtnetlink, sysctls and address announcements: what the router's apply layer
 * calls inside the pod's network namespace. A netlink socket talks to the namespace of the process
 * that opened it. The socket is the `netlink` package's native raw AF_NETLINK socket (and only that:
 * its generated rtnetlink layer is slow to load); the messages are our own small codec, pure and
 * typed: netlink framing and attributes in nlmsg.ts, the rtnetlink requests and answers used here in
 * rtnetlink.ts, sequence numbers, acknowledgements and dumps in handle.ts.
 */
export {
  type EnsureAddressResult,
  ensureAddress,
  type InterfaceAddress,
  listAddresses,
} from './addresses.js';
export { bytesToIp, formatMac, ipToBytes } from './encoding.js';
export {
  AddressNotAvailableError,
  AlreadyExistsError,
  InvalidArgumentError,
  LinkNotFoundError,
  mapNetlinkError,
  NetlinkClosedError,
  NetlinkError,
  NetlinkTimeoutError,
  NetworkError,
  NetworkUnreachableError,
  NoSuchDeviceError,
  NotFoundError,
  PermissionDeniedError,
  SysctlError,
} from './errors.js';
export { NetlinkHandle, type NetlinkHandleOptions, openNetlink, withNetlink } from './handle.js';
export { createMacvlan, deleteLink, MACVLAN_MODES, type MacvlanMode, moveLinkToNetns } from './lab.js';
export { type Link, linkByName, listLinks, reannounceLink, setLinkUp, waitForOperUp } from './links.js';
export { getTableRequest, type NftFamily, nftTableExists } from './nftables.js';
export { listRoutes, MAIN_TABLE, type RouteEntry, type RouteSpec, replaceRoute } from './routes.js';
export {
  checkSysctlWritable,
  forwardingPath,
  readForwarding,
  readSysctl,
  setForwarding,
  sysctlPath,
  writeSysctl,
} from './sysctl.js';
