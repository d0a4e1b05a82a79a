/**
 * The slots of a name entry's map. A name's connections are spread by `numgen inc mod NAME_SLOTS`:
 * each new connection takes the next slot, and the entry's map says which address a slot goes to.
 * The modulus is fixed, so a change of the name's addresses changes map elements only, never a
 * rule; 60 slots share out evenly over 1, 2, 3, 4, 5 or 6 addresses (and within one slot over
 * more; a name with more than 60 addresses uses its first 60).
 */
export const NAME_SLOTS = 60;

/**
 * The address of every slot for a set of addresses: slot `i` goes to the `i mod n`-th address in
 * sorted order, so equal sets give equal maps.
 *
 * @param addresses the addresses in use (any order, no duplicates)
 * @returns NAME_SLOTS addresses, or none when `addresses` is empty (the entry's port is refused)
 * @example slotAddresses(['10.0.0.2', '10.0.0.1']).slice(0, 3) // ['10.0.0.1', '10.0.0.2', '10.0.0.1']
 */
export function slotAddresses(addresses: readonly string[]): string[] {
  if (addresses.length === 0) return [];
  const sorted = [...new Set(addresses)].sort();
  return Array.from({ length: NAME_SLOTS }, (_, slot) => sorted[slot % sorted.length] as string);
}
