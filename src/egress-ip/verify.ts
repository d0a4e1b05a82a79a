/**
 * Whether the overlay and the hosted addresses are still as the last reconcile made them: what
 * someone else removed (the device deleted, `ip rule` entries deleted, an address flushed).
 * Read-only: one listing of links, rules and the interface's addresses.
 */
import { listAddresses } from '../network/addresses.js';
import { withNetlink } from '../network/handle.js';
import { listLinks } from '../network/links.js';
import { listRules } from '../network/overlay.js';
import { isOverlayRule, mtuOf, overlayMtu, type PrimaryInterface } from './apply.js';
import { OVERLAY, type OverlayPlan } from './overlay-plan.js';

/**
 * The differences between the overlay and addresses wanted and the kernel's.
 *
 * @param overlay the overlay last applied (this node and its peers)
 * @param primary the interface holding this node's address
 * @param hosted the egress IPs this node hosts
 * @returns one short line per difference; none when all is in place
 */
export async function overlayDrift(
  overlay: OverlayPlan,
  primary: PrimaryInterface,
  hosted: readonly string[],
): Promise<string[]> {
  if (!overlay.self) return [];
  return withNetlink(async (handle) => {
    const drift: string[] = [];
    const device = (await listLinks(handle)).find((l) => l.name === OVERLAY.device);
    if (!device) drift.push(`overlay device ${OVERLAY.device} is gone`);
    else if (!device.up) drift.push(`overlay device ${OVERLAY.device} is down`);
    const mtu = device ? mtuOf(OVERLAY.device) : undefined;
    const wantedMtu = overlayMtu(primary);
    if (mtu !== undefined && mtu !== wantedMtu)
      drift.push(
        `overlay device ${OVERLAY.device} has MTU ${mtu}, ${wantedMtu} wanted (its uplink's less 50)`,
      );
    for (const family of [4, 6] as const) {
      const rules = await listRules(handle, family);
      if (family === 4 && !rules.some((r) => r.priority === OVERLAY.nodeNetworkRulePriority))
        drift.push(`the node network's rule (pref ${OVERLAY.nodeNetworkRulePriority}) is gone`);
      for (const peer of overlay.peers) {
        const present = rules.some(
          (r) => isOverlayRule(r) && r.table === peer.table && r.fwmark.mark === peer.mark,
        );
        if (!present) drift.push(`IPv${family} rule to node ${peer.name} (table ${peer.table}) is gone`);
      }
    }
    const addresses = new Set((await listAddresses(handle, primary.index)).map((a) => a.address));
    for (const ip of hosted) {
      if (!addresses.has(ip)) drift.push(`egress IP ${ip} is not on ${primary.name}`);
    }
    return drift;
  });
}
