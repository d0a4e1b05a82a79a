/**
 * Test-lab helpers: what the namespace tests and the demo need to build a network, not used by the
 * router itself (which only configures the interfaces it is given).
 */
import { closeSync, openSync } from 'node:fs';
import { InvalidArgumentError } from './errors.js';
import type { NetlinkHandle } from './handle.js';
import { type Link, linkByName } from './links.js';
import { createMacvlanRequest, deleteLinkRequest, moveLinkRequest } from './rtnetlink.js';

/** macvlan modes (enum macvlan_mode in linux/if_link.h). */
export const MACVLAN_MODES = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;

/** A macvlan mode name. */
export type MacvlanMode = keyof typeof MACVLAN_MODES;

/**
 * Creates a macvlan interface on a parent (`ip link add link P name N type macvlan mode bridge`),
 * down, in the current namespace.
 *
 * @param parentIfindex the parent (lower) interface, an Ethernet device
 * @param name the new interface's name
 * @returns the new interface
 * @throws AlreadyExistsError (EEXIST) when an interface of that name exists
 */
export async function createMacvlan(
  handle: NetlinkHandle,
  parentIfindex: number,
  name: string,
  mode: MacvlanMode = 'bridge',
): Promise<Link> {
  await handle.request(`create macvlan '${name}' (mode ${mode}) on interface index ${parentIfindex}`, () =>
    createMacvlanRequest({ name, parentIndex: parentIfindex, mode: MACVLAN_MODES[mode] }),
  );
  return linkByName(handle, name);
}

/**
 * Moves an interface into another network namespace (`ip link set dev X netns NAME`) through
 * IFLA_NET_NS_FD. The interface keeps its name and is down in the target namespace.
 *
 * @param netns a name under /run/netns (as `ip netns add` makes), or an open namespace file
 *   descriptor that the caller keeps and closes
 * @throws NoSuchDeviceError (ENODEV) when there is no interface with that index
 */
export async function moveLinkToNetns(
  handle: NetlinkHandle,
  ifindex: number,
  netns: string | number,
): Promise<void> {
  const operation = `move interface index ${ifindex} to network namespace ${typeof netns === 'string' ? `'${netns}'` : `fd ${netns}`}`;
  if (typeof netns === 'string' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(netns)) {
    throw new InvalidArgumentError(operation, `invalid namespace name '${netns}'`);
  }
  let fd: number;
  try {
    fd = typeof netns === 'number' ? netns : openSync(`/run/netns/${netns}`, 'r');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(operation, `cannot open the namespace: ${reason}`, { cause: error });
  }
  try {
    await handle.request(operation, () => moveLinkRequest(ifindex, { fd }));
  } finally {
    if (typeof netns === 'string') closeSync(fd);
  }
}

/**
 * Deletes an interface (`ip link del`); deleting one end of a veth pair deletes both.
 *
 * @throws NoSuchDeviceError (ENODEV) when there is no interface with that index
 */
export async function deleteLink(handle: NetlinkHandle, ifindex: number): Promise<void> {
  await handle.request(`delete interface index ${ifindex}`, () => deleteLinkRequest(ifindex));
}
