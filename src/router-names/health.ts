/** How often every address of a TCP name mapping is checked by a TCP connect to its remote port. */
export const HEALTH_INTERVAL_MS = 1_000;
/** A check that has not connected within this long failed. */
export const HEALTH_TIMEOUT_MS = 1_000;

/**
 * Which addresses of the name mappings failed their last check. An address is down from its first
 * failed check (a refused or timed-out connect: a client would have failed the same way) and up
 * again from its first good one. Keys are `address port`: a host may refuse one port and serve
 * another.
 */
export class HealthTracker {
  readonly #down = new Set<string>();

  /**
   * Records a check.
   *
   * @param address the address checked
   * @param port the port checked
   * @param ok whether it connected
   * @returns whether the address changed state (down to up or up to down)
   */
  record(address: string, port: number, ok: boolean): boolean {
    const key = `${address} ${port}`;
    if (ok) return this.#down.delete(key);
    if (this.#down.has(key)) return false;
    this.#down.add(key);
    return true;
  }

  /**
   * Whether an address is down on a port.
   *
   * @param address an address
   * @param port a port
   */
  isDown(address: string, port: number): boolean {
    return this.#down.has(`${address} ${port}`);
  }

  /**
   * The addresses new connections use: those not down; all of them when every one is down (a check
   * that fails everywhere says nothing about which to prefer, and the port then behaves as the
   * destination does).
   *
   * @param addresses the name's current addresses
   * @param port the port they are checked on, or undefined for an entry without checks
   * @returns the addresses to put in the map
   */
  usable(addresses: readonly string[], port: number | undefined): readonly string[] {
    if (port === undefined || this.#down.size === 0) return addresses;
    const up = addresses.filter((address) => !this.isDown(address, port));
    return up.length > 0 ? up : addresses;
  }

  /**
   * Forgets the addresses no name has any more.
   *
   * @param keep `address port` keys still checked
   */
  retain(keep: ReadonlySet<string>): void {
    for (const key of this.#down) if (!keep.has(key)) this.#down.delete(key);
  }
}
