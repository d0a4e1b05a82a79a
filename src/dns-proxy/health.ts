/** After its first failed connect, an address is skipped for this long. */
export const HEALTH_RETRY_MIN_MS = 1_000;
/** Each further failure doubles the time an address is skipped, up to this. */
export const HEALTH_RETRY_MAX_MS = 30_000;

/** Why and until when an address is skipped. */
interface DownState {
  failures: number;
  retryAt: number;
}

/**
 * Passive health of destination addresses: an address whose connect failed is "down" and skipped
 * by new connections until its back-off runs out (1 s, doubling per failure in a row, at most 30 s);
 * then the next connection tries it again, and a success makes it "up". Keys are `address port`
 * strings (a host may refuse one port and serve another).
 */
export class AddressHealth {
  readonly #down = new Map<string, DownState>();
  readonly #minMs: number;
  readonly #maxMs: number;

  /**
   * @param minMs the first back-off
   * @param maxMs the longest back-off
   */
  constructor(minMs = HEALTH_RETRY_MIN_MS, maxMs = HEALTH_RETRY_MAX_MS) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
  }

  /** Whether nothing is down (the common case: no work per connection). */
  get allUp(): boolean {
    return this.#down.size === 0;
  }

  /**
   * When a down address may be tried again, or undefined when it is up.
   *
   * @param key `address port`
   */
  retryAt(key: string): number | undefined {
    return this.#down.get(key)?.retryAt;
  }

  /**
   * Records a failed connect.
   *
   * @param key `address port`
   * @param now the time of the failure
   * @returns how long the address is now skipped, in milliseconds
   */
  failed(key: string, now: number): number {
    this.#prune(now);
    const failures = (this.#down.get(key)?.failures ?? 0) + 1;
    const backoffMs = Math.min(this.#minMs * 2 ** Math.min(failures - 1, 30), this.#maxMs);
    this.#down.set(key, { failures, retryAt: now + backoffMs });
    return backoffMs;
  }

  /**
   * Records a successful connect: the address is up.
   *
   * @param key `address port`
   * @returns whether it was down before
   */
  succeeded(key: string): boolean {
    return this.#down.delete(key);
  }

  /** Forgets addresses whose back-off ran out long ago (they were not tried again: gone from DNS). */
  #prune(now: number): void {
    for (const [key, state] of this.#down) {
      if (state.retryAt + this.#maxMs < now) this.#down.delete(key);
    }
  }
}
