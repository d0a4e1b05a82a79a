/**
 * The egress IPs' kernel side besides the nft table: the overlay (VXLAN device, neighbours, rules,
 * table routes), the egress IP addresses on the node's interface and their announcement. Thin:
 * every call is idempotent; what it made is remembered so that what is no longer wanted is undone.
 */
import { readFileSync } from 'node:fs';
import type { Cidr } from '../destination-parser/address.js';
import { parseCidr } from '../destination-parser/address.js';
import { networkOf } from '../firewall/ip-range.js';
import { ensureAddress, type InterfaceAddress, listAddresses } from '../network/addresses.js';
import { type NetlinkHandle, withNetlink } from '../network/handle.js';
import { listLinks, reannounceLink, setLinkUp } from '../network/links.js';
import {
  deleteRule,
  deleteTunnelRoute,
  ensureRule,
  ensureVxlan,
  listRules,
  removeAddress,
  replaceNeighbour,
  replaceTunnelRoute,
  setLinkMtu,
} from '../network/overlay.js';
import { writeSysctl } from '../network/sysctl.js';
import type { OverlayNode, OverlayPlan } from './overlay-plan.js';
import { OVERLAY } from './overlay-plan.js';
import { MARK_MASK } from './ruleset.js';

/** The interface holding the node's address, and its networks. */
export interface PrimaryInterface {
  readonly name: string;
  readonly index: number;
  readonly addresses: readonly InterfaceAddress[];
}

/** What applyOverlay made, for the next call. */
export interface AppliedOverlay {
  /** Egress IP addresses added to the primary interface (`ip/prefix`). */
  readonly addresses: ReadonlySet<string>;
  /** What the device, rules, neighbours and routes were made from: the same next time, nothing to redo. */
  readonly overlayKey?: string;
}

/**
 * Finds the interface that holds `hostIP`. Read-only.
 *
 * @returns the interface, or undefined when none holds it
 */
export async function findPrimaryInterface(hostIP: string): Promise<PrimaryInterface | undefined> {
  return withNetlink(async (handle) => {
    for (const link of await listLinks(handle)) {
      const addresses = await listAddresses(handle, link.index);
      if (addresses.some((a) => a.address === hostIP))
        return { name: link.name, index: link.index, addresses };
    }
    return undefined;
  });
}

/**
 * Sets the overlay up (or keeps it), adds the egress IP addresses this node hosts, and removes the
 * addresses of `previous` no longer wanted and the rules and routes of nodes that are no longer
 * peers (also those an earlier run left: the kernel's rules are listed). Announces new addresses
 * (at once and 2 s later, arp_notify and ndisc_notify set on the interface).
 *
 * @param overlay this node and its peers
 * @param primary the interface holding this node's address
 * @param hosted the egress IPs this node hosts
 * @param previous what the last call made
 * @param requested every egress IP some NetNamespace asks for: one of them on the interface that
 *   this node does not host is removed (left by an earlier run, or by a node that was cut off)
 * @returns what this call made
 */
export async function applyOverlay(
  overlay: OverlayPlan,
  primary: PrimaryInterface,
  hosted: readonly string[],
  previous: AppliedOverlay | undefined,
  requested: ReadonlySet<string> = new Set(),
): Promise<AppliedOverlay> {
  const self = overlay.self;
  if (!self) return { addresses: new Set() };
  const wantedAddresses = new Set(hosted.map((ip) => `${ip}/${prefixFor(ip, primary)}`));
  const mtu = overlayMtu(primary);
  const overlayKey = JSON.stringify([self, overlay.peers, primary.index, primary.addresses, mtu]);
  return withNetlink(async (handle) => {
    if (previous?.overlayKey !== overlayKey) await setUpOverlay(handle, overlay, self, primary, mtu);
    // One listing: adding what is there already would cost a listing each (EEXIST is then checked).
    const present = await listAddresses(handle, primary.index);
    const have = new Set(present.map((a) => `${a.address}/${a.prefix}`));
    for (const address of present) {
      const text = `${address.address}/${address.prefix}`;
      if (requested.has(address.address) && !wantedAddresses.has(text))
        await removeAddress(handle, primary.index, address);
    }
    let added = false;
    for (const text of wantedAddresses) {
      if (have.has(text)) continue;
      added = (await ensureAddress(handle, primary.index, cidr(text))).added || added;
    }
    if (added) {
      await writeSysctl(`net/ipv4/conf/${primary.name}/arp_notify`, '1');
      await writeSysctl(`net/ipv6/conf/${primary.name}/ndisc_notify`, '1').catch(() => undefined);
      await reannounceLink(handle, primary.index);
      setTimeout(
        () => void withNetlink((h) => reannounceLink(h, primary.index)).catch(() => undefined),
        2_000,
      ).unref();
    }
    return { addresses: wantedAddresses, overlayKey };
  });
}

/** The device, its address and filtering, the node-network rule, and each peer's neighbours, rules and routes; other nodes' rules and routes undone. */
async function setUpOverlay(
  handle: NetlinkHandle,
  overlay: OverlayPlan,
  self: OverlayNode,
  primary: PrimaryInterface,
  mtu: number,
): Promise<void> {
  const { link, created } = await ensureVxlan(handle, OVERLAY.device, self.mac, OVERLAY.port, mtu);
  // The uplink's MTU changed since the device was made (jumbo frames turned on or off).
  if (!created && mtuOf(OVERLAY.device) !== mtu) await setLinkMtu(handle, link.index, mtu);
  if (!link.up) await setLinkUp(handle, link.index);
  await ensureAddress(handle, link.index, cidr(`${self.via4}/32`));
  await writeSysctl(`net/ipv4/conf/${OVERLAY.device}/rp_filter`, '2');
  for (const network of primary.addresses.filter((a) => a.family === 4 && a.scope === 0)) {
    await ensureRule(handle, {
      family: 4,
      priority: OVERLAY.nodeNetworkRulePriority,
      table: 254,
      to: cidr(networkOf(network.address, network.prefix)?.text ?? `${network.address}/32`),
    });
  }
  for (const peer of overlay.peers) {
    await replaceNeighbour(handle, link.index, cidr(`${peer.via4}/32`), peer.mac);
    await replaceNeighbour(handle, link.index, cidr(`${peer.via6}/128`), peer.mac);
    for (const family of [4, 6] as const) {
      await ensureRule(handle, rule(family, peer));
      await replaceTunnelRoute(handle, tunnelRoute(family, peer, link.index));
    }
  }
  // Rules of nodes that are no longer peers, with their tables' routes: those of the last call,
  // and those an earlier run of the agent left (the kernel's rules are listed, not remembered).
  const wanted = new Map(overlay.peers.map((p) => [p.table, p.mark]));
  for (const family of [4, 6] as const) {
    for (const found of await listRules(handle, family)) {
      // Ours, and no peer's (or a peer's with a mark of an earlier scheme): undone.
      if (!isOverlayRule(found) || wanted.get(found.table) === found.fwmark.mark) continue;
      await deleteRule(handle, { family, ...found });
      if (!wanted.has(found.table))
        await deleteTunnelRoute(handle, { family, table: found.table, ifindex: link.index });
    }
  }
}

/** One of the overlay's rules: `fwmark M/0x1fff0000 lookup T pref T`, T in the overlay's tables. */
export function isOverlayRule(found: {
  priority: number;
  table: number;
  fwmark?: { mark: number; mask: number };
}): found is { priority: number; table: number; fwmark: { mark: number; mask: number } } {
  const index = found.table - OVERLAY.tableBase;
  return found.priority === found.table && index >= 1 && index < 0xfff && found.fwmark?.mask === MARK_MASK;
}

/**
 * Removes the egress IP addresses of `previous` that are no longer hosted (after the nft
 * transaction stopped SNATing to them).
 */
export async function releaseAddresses(
  primary: PrimaryInterface,
  previous: AppliedOverlay | undefined,
  now: AppliedOverlay,
): Promise<void> {
  const stale = [...(previous?.addresses ?? [])].filter((a) => !now.addresses.has(a));
  if (stale.length === 0) return;
  await withNetlink(async (handle) => {
    for (const text of stale) await removeAddress(handle, primary.index, cidr(text));
  });
}

function tunnelRoute(family: 4 | 6, peer: OverlayNode, ifindex: number) {
  return {
    family,
    table: peer.table,
    ifindex,
    via: family === 4 ? peer.via4 : peer.via6,
    remote: peer.hostIP,
    id: OVERLAY.vni,
  };
}

/**
 * The overlay device's MTU: the uplink's less the 50 bytes VXLAN over IPv4 adds, so the outer
 * packets never fragment (1500 taken when the uplink's cannot be read); never under 1280, the
 * least IPv6 takes (below an uplink of 1330 the outer packets are then fragmented).
 */
export function overlayMtu(primary: PrimaryInterface): number {
  return Math.max(1280, (mtuOf(primary.name) ?? 1500) - 50);
}

/** An interface's MTU, from sysfs; undefined when it cannot be read. */
export function mtuOf(name: string): number | undefined {
  try {
    const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
    return Number.isInteger(mtu) && mtu >= 68 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

function rule(family: 4 | 6, peer: OverlayNode) {
  return { family, priority: peer.table, table: peer.table, fwmark: { mark: peer.mark, mask: MARK_MASK } };
}

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed) throw new RangeError(`not a CIDR: ${text}`);
  return parsed;
}

/** The prefix of the primary interface's network holding the IP (the node network's); /32 or /128 else. */
function prefixFor(ip: string, primary: PrimaryInterface): number {
  const family = ip.includes(':') ? 6 : 4;
  const holding = primary.addresses.find((a) => a.family === family && a.scope === 0);
  return holding?.prefix ?? (family === 4 ? 32 : 128);
}
