import type { Cidr } from '../destination-parser/address.js';
import { addressFamily, bytesToIp, familyOf, ipToBytes } from './encoding.js';
import { AlreadyExistsError } from './errors.js';
import type { NetlinkHandle } from './handle.js';
import { addAddressRequest, dumpAddressesRequest, IFA_F_NODAD, IFA_F_TENTATIVE } from './rtnetlink.js';
import { decodeAddress } from './rtnetlink-decode.js';

/** An address installed on an interface. */
export interface InterfaceAddress extends Cidr {
  readonly ifindex: number;
  /** RT_SCOPE_* number: 0 global, 253 link, 254 host. */
  readonly scope: number;
  /** IFA_F_NODAD: added without duplicate address detection (IPv6). */
  readonly nodad: boolean;
  /** IFA_F_TENTATIVE: duplicate address detection still running, not usable yet (IPv6). */
  readonly tentative: boolean;
}

/** What ensureAddress did. */
export interface EnsureAddressResult {
  /** False when the address was already there with the same prefix. */
  readonly added: boolean;
}

/**
 * Adds an address with its prefix to an interface (`ip addr add A/P dev X`, plus `nodad` for IPv6 so
 * that it is usable at once). Idempotent: the same address with the same prefix already there is a
 * success with `added: false`.
 *
 * IPv4 keeps the kernel's rule that the same address with another prefix is a different address (both
 * end up installed). For IPv6 the kernel keys addresses by address alone: the same address with
 * another prefix is refused.
 *
 * @throws AlreadyExistsError (EEXIST) for an IPv6 address already there with another prefix
 * @throws NoSuchDeviceError (ENODEV) when there is no interface with that index
 */
export async function ensureAddress(
  handle: NetlinkHandle,
  ifindex: number,
  cidr: Cidr,
): Promise<EnsureAddressResult> {
  const text = `${cidr.address}/${cidr.prefix}`;
  const operation = `add address ${text} to interface index ${ifindex}`;
  const address = ipToBytes(cidr);
  try {
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the same on a broadcast link.
    // IFA_FLAGS (u32) is sent too: the kernel prefers it over the u8 in ifaddrmsg.
    await handle.request(operation, () =>
      addAddressRequest({
        family: addressFamily(cidr.family),
        prefixlen: cidr.prefix,
        index: ifindex,
        address,
        nodad: cidr.family === 6,
      }),
    );
    return { added: true };
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    const present = (await listAddresses(handle, ifindex)).find(
      (a) => a.family === cidr.family && a.address === cidr.address,
    );
    if (present?.prefix === cidr.prefix) return { added: false };
    const detail = present === undefined ? 'already exists' : `already there with prefix /${present.prefix}`;
    throw new AlreadyExistsError(operation, detail, { cause: error });
  }
}

/**
 * The addresses of one interface, both families, in the kernel's order.
 *
 * @param ifindex the interface index
 */
export async function listAddresses(handle: NetlinkHandle, ifindex: number): Promise<InterfaceAddress[]> {
  const messages = await handle.request(
    `list addresses of interface index ${ifindex}`,
    dumpAddressesRequest,
    decodeAddress,
  );
  const result: InterfaceAddress[] = [];
  for (const message of messages) {
    const family = familyOf(message.family);
    const bytes = message.local ?? message.address;
    if (message.index !== ifindex || family === undefined || bytes === undefined) continue;
    result.push({
      ...bytesToIp(bytes),
      prefix: message.prefixlen,
      ifindex,
      scope: message.scope,
      nodad: (message.flags & IFA_F_NODAD) !== 0,
      tentative: (message.flags & IFA_F_TENTATIVE) !== 0,
    });
  }
  return result;
}
