import type { NameTarget, NatPlan } from '../destination-parser/plan.js';
import type { NameState } from '../dns-proxy/resolution.js';
import { assignSlots } from '../nat/name-slots.js';
import type { NameAddresses } from '../nat/ruleset.js';
import type { ElementOp } from '../network/nft-elements.js';
import { nameElementChanges } from './element-changes.js';
import type { HealthTracker } from './health.js';

/**
 * The port a target's addresses are checked on: a TCP mapping's remote port; none for UDP (no
 * connect to check) and for the fallback (every port: no one port says the address is down).
 *
 * @param target a name target
 * @returns the port, or undefined
 */
export function healthPort(target: NameTarget): number | undefined {
  return target.kind === 'mapping' && target.protocol === 'tcp' ? target.remotePort : undefined;
}

/**
 * What every name map should hold: the name's current addresses of the map's family, less those
 * down. Pure.
 *
 * @param plan the NAT plan (its name targets)
 * @param states each name's resolution state (a name not there has no address yet)
 * @param health which addresses are down
 * @returns the addresses of each map
 */
export function wantedAddresses(
  plan: NatPlan,
  states: ReadonlyMap<string, NameState>,
  health: HealthTracker,
): Map<string, readonly string[]> {
  const wanted = new Map<string, readonly string[]>();
  for (const target of plan.names) {
    const state = states.get(target.name);
    const addresses = state === undefined ? [] : target.family === 4 ? state.v4 : state.v6;
    wanted.set(target.map, health.usable(addresses, healthPort(target)));
  }
  return wanted;
}

/** The address of every slot of each name map, by map name. */
export type NameSlots = ReadonlyMap<string, readonly string[]>;

/**
 * The element changes from what the maps hold to what they should, map by map in plan order,
 * moving as few slots as an even spread allows (assignSlots). Pure.
 *
 * @param plan the NAT plan (its name targets)
 * @param current the slots of each map now
 * @param wanted the addresses each map should spread over
 * @returns the operations (one batch: one transaction), the maps they change, and the new slots
 */
export function planNameChanges(
  plan: NatPlan,
  current: NameSlots,
  wanted: NameAddresses,
): { ops: ElementOp[]; changed: string[]; slots: Map<string, readonly string[]> } {
  const ops: ElementOp[] = [];
  const changed: string[] = [];
  const slots = new Map<string, readonly string[]>();
  for (const target of plan.names) {
    const before = current.get(target.map) ?? [];
    const after = assignSlots(before, wanted.get(target.map) ?? []);
    slots.set(target.map, after);
    const mapOps = nameElementChanges(target.map, before, after);
    if (mapOps.length === 0) continue;
    changed.push(target.map);
    ops.push(...mapOps);
  }
  // Deletes before adds across maps too: the kernel checks each in order.
  return {
    ops: [...ops.filter((op) => op.op === 'delete'), ...ops.filter((op) => op.op !== 'delete')],
    changed,
    slots,
  };
}
