/**
 * The kernel's own notices of deletions in this network namespace, as `nft monitor` and `ip
 * monitor` see them: nf_tables tables, chains, rules and sets (NFNLGRP_NFTABLES), and links,
 * addresses and policy routing rules (rtnetlink groups). Only the message types are read; what was
 * deleted is for the caller to look up. Our own changes are reported too.
 */
import { rawNetlink } from './handle.js';

/** NFNLGRP_NFTABLES (linux/netfilter/nfnetlink.h). */
const NFNLGRP_NFTABLES = 7;
/** RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE (linux/rtnetlink.h). */
const RTNL_GROUPS = [1, 5, 9, 8, 19];
/** NFT_MSG_DELTABLE, DELCHAIN, DELRULE, DELSET, under NFNL_SUBSYS_NFTABLES. */
const NFT_DELETIONS = new Set([2, 5, 8, 11].map((m) => (10 << 8) | m));
/** RTM_NEWLINK (a link set down is one), RTM_DELLINK, RTM_DELADDR, RTM_DELRULE. */
const RTM_CHANGES = new Set([16, 17, 21, 33]);
const NETLINK_ROUTE = 0;
const NETLINK_NETFILTER = 12;
const NLMSG_HDRLEN = 16;

/** A watch on the kernel's deletion notices. */
export interface KernelEvents {
  close(): void;
}

/**
 * Calls `changed` for every datagram of notices that holds a deletion (or a link change), and when
 * notices were lost (the socket's buffer overflowed). Never keeps the process alive.
 *
 * @param changed called with no argument; the caller debounces
 * @returns the watch, or undefined when the sockets cannot be opened (no CAP_NET_ADMIN)
 */
export function watchDeletions(changed: () => void): KernelEvents | undefined {
  const { RawNetlinkSocket } = rawNetlink();
  const sockets: InstanceType<typeof RawNetlinkSocket>[] = [];
  const watch = (protocol: number, groups: readonly number[], types: ReadonlySet<number>) => {
    const socket = new RawNetlinkSocket(protocol);
    sockets.push(socket);
    socket.unref();
    for (const group of groups) socket.addMembership(group);
    socket.on('message', (datagram: Buffer) => {
      if (holdsAny(datagram, types)) changed();
    });
    // ENOBUFS: notices were dropped; whatever they said, look.
    socket.on('error', () => changed());
  };
  try {
    watch(NETLINK_NETFILTER, [NFNLGRP_NFTABLES], NFT_DELETIONS);
    watch(NETLINK_ROUTE, RTNL_GROUPS, RTM_CHANGES);
  } catch {
    for (const socket of sockets) socket.close();
    return undefined;
  }
  return {
    close() {
      for (const socket of sockets) socket.close();
    },
  };
}

/** Whether a datagram holds a message of one of the types (netlink headers are host byte order). */
export function holdsAny(datagram: Buffer, types: ReadonlySet<number>): boolean {
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const length = datagram.readUInt32LE(offset);
    if (types.has(datagram.readUInt16LE(offset + 4))) return true;
    if (length < NLMSG_HDRLEN) return false;
    offset += (length + 3) & ~3;
  }
  return false;
}
