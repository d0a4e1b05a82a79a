import { NAME_SLOTS } from '../nat/name-slots.js';
import { ipToBytes } from '../network/encoding.js';
import type { ElementOp } from '../network/nft-elements.js';

/**
 * The key of a slot as the element encoder writes it. A slot is the connection's conntrack mark, a
 * 32-bit number the kernel keeps in host byte order; the encoder writes keys big-endian, so on a
 * little-endian host the number is given byte-swapped.
 *
 * @param slot 0 to NAME_SLOTS - 1
 * @param littleEndian whether the host is little-endian (default: this host)
 * @returns the key to put in an ElementChange
 */
export function slotKey(slot: number, littleEndian = LITTLE_ENDIAN): bigint {
  if (!Number.isInteger(slot) || slot < 0 || slot > 0xffffffff) throw new RangeError(`bad slot ${slot}`);
  if (!littleEndian) return BigInt(slot);
  const swapped =
    ((slot & 0xff) << 24) | ((slot & 0xff00) << 8) | ((slot >>> 8) & 0xff00) | ((slot >>> 24) & 0xff);
  return BigInt(swapped >>> 0);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The element changes that turn one name map's slots into another's: a slot whose address changes
 * is deleted and added again (the kernel does not replace a map element's value in place), a slot
 * that empties is deleted, a new one added; an unchanged slot is left alone. Deletes come first.
 * Sent as one batch, the change is one kernel transaction: a new connection sees the old map or
 * the new one, never a mix.
 *
 * @param map the map's name in our table
 * @param before the address of each slot now (NAME_SLOTS of them, or none)
 * @param after the address of each slot wanted
 * @returns the element operations, none when the two are equal
 * @throws RangeError when a side has more than NAME_SLOTS slots
 */
export function nameElementChanges(
  map: string,
  before: readonly string[],
  after: readonly string[],
): ElementOp[] {
  if (before.length > NAME_SLOTS || after.length > NAME_SLOTS) {
    throw new RangeError(`a name map has at most ${NAME_SLOTS} slots`);
  }
  const deletes: ElementOp[] = [];
  const adds: ElementOp[] = [];
  for (let slot = 0; slot < NAME_SLOTS; slot++) {
    const was = before[slot];
    const will = after[slot];
    if (was === will) continue;
    // The key is 4 bytes: the encoder takes its width from `family` (4), whatever the value's family.
    const key = { set: map, interval: false, family: 4 as const, start: slotKey(slot), end: slotKey(slot) };
    if (was !== undefined) deletes.push({ op: 'delete', ...key });
    if (will !== undefined) adds.push({ op: 'add', ...key, value: ipToBytes(will) });
  }
  return [...deletes, ...adds];
}
