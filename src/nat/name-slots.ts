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

/**
 * The slots for a new set of addresses, changing as few of the current slots as an even share
 * allows. Shares are NAME_SLOTS / n, one more for the first NAME_SLOTS mod n addresses in sorted
 * order. An address that still has slots keeps up to its share of them, picked evenly from those it
 * has; the freed slots go to the addresses short of their share, taking turns, so that consecutive
 * slots (consecutive connections: `numgen inc`) still alternate. From no slots it is slotAddresses.
 * Adding a third address to two moves a third of the slots; removing one of two moves its half;
 * an unchanged set moves none.
 *
 * @param current the address of each slot now (NAME_SLOTS of them, or none)
 * @param addresses the addresses to use (any order, no duplicates)
 * @returns NAME_SLOTS addresses, or none when `addresses` is empty
 * @example assignSlots(slotAddresses(['a', 'b']), ['a', 'b', 'c']) // 20 slots each, 40 kept
 */
export function assignSlots(current: readonly string[], addresses: readonly string[]): string[] {
  if (addresses.length === 0) return [];
  if (current.length !== NAME_SLOTS) return slotAddresses(addresses);
  const sorted = [...new Set(addresses)].sort().slice(0, NAME_SLOTS);
  const share = new Map<string, number>();
  sorted.forEach((address, i) => {
    share.set(address, Math.floor(NAME_SLOTS / sorted.length) + (i < NAME_SLOTS % sorted.length ? 1 : 0));
  });
  const positions = new Map<string, number[]>();
  current.forEach((address, slot) => {
    const list = positions.get(address) ?? [];
    list.push(slot);
    positions.set(address, list);
  });
  const slots: (string | undefined)[] = new Array(NAME_SLOTS).fill(undefined);
  const need = new Map(share);
  for (const [address, held] of positions) {
    const wanted = share.get(address) ?? 0;
    const keep = Math.min(wanted, held.length);
    for (let i = 0; i < keep; i++) {
      slots[held[Math.floor((i * held.length) / keep)] as number] = address;
    }
    need.set(address, wanted - keep);
  }
  const short: string[] = [];
  for (let round = 0; short.length < NAME_SLOTS; round++) {
    const before = short.length;
    for (const address of sorted) if ((need.get(address) ?? 0) > round) short.push(address);
    if (short.length === before) break;
  }
  let next = 0;
  return slots.map((address) => address ?? (short[next++] as string));
}
