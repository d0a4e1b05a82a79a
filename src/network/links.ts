import { formatMac } from './encoding.js';
import { InvalidArgumentError, LinkNotFoundError, NoSuchDeviceError } from './errors.js';
import type { NetlinkHandle } from './handle.js';
import {
  dumpLinksRequest,
  getLinkRequest,
  IFF_UP,
  setLinkAddressRequest,
  setLinkUpRequest,
} from './rtnetlink.js';
import { decodeLink, type LinkMessage } from './rtnetlink-decode.js';

/** A network interface as the router needs to know it. */
export interface Link {
  /** The interface index (ifindex), what the other functions of this module take. */
  readonly index: number;
  readonly name: string;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** The hardware address, `aa:bb:cc:dd:ee:ff`; undefined for interfaces without one. */
  readonly mac: string | undefined;
}

/** Linux IFNAMSIZ less the terminating NUL: no interface name is longer. */
const MAX_IFNAME_LENGTH = 15;

/**
 * Looks an interface up by name.
 *
 * @throws LinkNotFoundError (code ENODEV) naming the interface when there is none by that name
 */
export async function linkByName(handle: NetlinkHandle, name: string): Promise<Link> {
  if (name.length === 0 || Buffer.byteLength(name) > MAX_IFNAME_LENGTH || name.includes('\0')) {
    throw new LinkNotFoundError(name);
  }
  try {
    const [message] = await handle.request(
      `look up interface '${name}'`,
      () => getLinkRequest({ name }),
      decodeLink,
    );
    if (message === undefined) throw new LinkNotFoundError(name);
    return toLink(message);
  } catch (error) {
    if (error instanceof NoSuchDeviceError && !(error instanceof LinkNotFoundError)) {
      throw new LinkNotFoundError(name, { cause: error });
    }
    throw error;
  }
}

/** Every interface of the namespace, by index. */
export async function listLinks(handle: NetlinkHandle): Promise<Link[]> {
  const messages = await handle.request('list interfaces', dumpLinksRequest, decodeLink);
  return messages.map(toLink).sort((a, b) => a.index - b.index);
}

/**
 * Sets an interface administratively up (`ip link set dev X up`). Idempotent.
 *
 * @throws NoSuchDeviceError when there is no interface with that index
 */
export async function setLinkUp(handle: NetlinkHandle, ifindex: number): Promise<void> {
  await handle.request(`set interface index ${ifindex} up`, () => setLinkUpRequest(ifindex));
}

/**
 * Makes the kernel announce every address of an interface again, without any external tool: sets the
 * interface's hardware address to the one it already has, which the kernel reports as
 * NETDEV_CHANGEADDR. With `net/ipv4/conf/<if>/arp_notify` = 1 it then sends a gratuitous ARP for each
 * IPv4 address, with `net/ipv6/conf/<if>/ndisc_notify` = 1 an unsolicited neighbour advertisement
 * (override flag) for each non-tentative IPv6 address; without them nothing is sent (see writeSysctl).
 *
 * Packets sent in the first second or so after the link came up can be lost: the kernel activates
 * the device's queue (linkwatch) up to a second after the carrier. Announce again about 2 s later, as
 * ifup does.
 *
 * @throws NoSuchDeviceError when there is no interface with that index
 * @throws InvalidArgumentError when the interface has no hardware address
 */
export async function reannounceLink(handle: NetlinkHandle, ifindex: number): Promise<void> {
  const operation = `re-announce the addresses of interface index ${ifindex}`;
  const [message] = await handle.request(operation, () => getLinkRequest({ index: ifindex }), decodeLink);
  const address = message?.address;
  if (address === undefined || address.length === 0 || address.every((byte) => byte === 0)) {
    throw new InvalidArgumentError(operation, 'the interface has no hardware address');
  }
  await handle.request(operation, () => setLinkAddressRequest(ifindex, address));
}

/** IF_OPER_UP and IF_OPER_UNKNOWN (drivers that do not report an operational state). */
const OPER_READY = new Set([6, 0]);

/**
 * Waits until an interface is operationally up (the kernel has activated its queue), polling every
 * 10 ms, at most `timeoutMs`. Packets sent before that are dropped, so announcements wait for it.
 * A macvlan on an up parent is up at once; the wait matters for links whose carrier comes later.
 *
 * @returns whether it became ready in time
 */
export async function waitForOperUp(
  handle: NetlinkHandle,
  ifindex: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const [message] = await handle.request(
      `read the state of interface index ${ifindex}`,
      () => getLinkRequest({ index: ifindex }),
      decodeLink,
    );
    if (OPER_READY.has(message?.operstate ?? -1)) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function toLink(message: LinkMessage): Link {
  return {
    index: message.index,
    name: message.name ?? '',
    up: (message.flags & IFF_UP) !== 0,
    mac: message.address !== undefined && message.address.length > 0 ? formatMac(message.address) : undefined,
  };
}
