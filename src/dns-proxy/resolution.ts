import { isIPv6 } from 'node:net';
import { isConnectable } from './connectable.js';

/** What the DNS said for one family (A or AAAA) of a name. */
export type FamilyLookup =
  /** Addresses, each with its TTL in seconds. */
  | {
      readonly kind: 'records';
      readonly records: readonly { readonly address: string; readonly ttl: number }[];
    }
  /** An answer that there is nothing: NXDOMAIN (`ENOTFOUND`) or no record of the type (`ENODATA`). */
  | { readonly kind: 'negative'; readonly code: string }
  /** No answer: a timeout, SERVFAIL, REFUSED, an unreachable server... */
  | { readonly kind: 'failed'; readonly code: string };

/** Both families' lookups of one resolution round. */
export interface NameLookup {
  readonly v4: FamilyLookup;
  readonly v6: FamilyLookup;
}

/**
 * Where a name stands: `pending` before its first round, `resolved` (the DNS gave addresses),
 * `stale` (the DNS is failing: the last good addresses are kept), `held` (the DNS says the name is
 * gone: the last addresses are kept for the negative hold time), `unresolved` (no address).
 */
export type NameStatus = 'pending' | 'resolved' | 'stale' | 'held' | 'unresolved';

/** A name's addresses and recent history; immutable, replaced by each round. */
export interface NameState {
  /** IPv4 then IPv6 addresses, each sorted: what connections use. */
  readonly addresses: readonly string[];
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  readonly status: NameStatus;
  /** Rounds in a row that gave no address (failures and negative answers): sets the back-off. */
  readonly misses: number;
  /** When the DNS first said, in the current run of negative answers, that the name is gone. */
  readonly negativeSince?: number;
}

/** What a round decided, as data: the new state, why, when to ask again, what changed. */
export interface ResolutionDecision {
  readonly state: NameState;
  /** `answer`: at least one family had records; `negative`: both said there is nothing; `failure`: no answer. */
  readonly outcome: 'answer' | 'negative' | 'failure';
  /** Milliseconds until the next round. */
  readonly delayMs: number;
  /** Whether `addresses` differs from the previous state's (as a set). */
  readonly changed: boolean;
  /** The smallest TTL of the answer, in seconds, before clamping. */
  readonly ttl?: number;
  /** The error codes, for a negative answer or a failure. */
  readonly codes?: readonly string[];
  /** Addresses the answer had that no connection can use (unspecified, multicast), left out. */
  readonly ignored?: readonly string[];
}

/** The bounds that turn TTLs and failures into delays. */
export interface ResolutionBounds {
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly negativeHoldMs: number;
}

/** A name before its first round. */
export const PENDING: NameState = { addresses: [], v4: [], v6: [], status: 'pending', misses: 0 };

/**
 * Decides what one resolution round means. Pure.
 *
 * - Records for a family replace that family's addresses; a family that failed keeps its previous
 *   addresses; a family with a negative answer has none. The next round comes when the smallest
 *   TTL runs out, clamped to [minTtl, maxTtl].
 * - No answer at all (a failing DNS): every previous address is kept (`stale`).
 * - Both families negative: the previous addresses are kept for `negativeHoldMs` from the first
 *   negative answer (`held`), then dropped (`unresolved`).
 * - Without an answer the next round is backed off: minTtl, doubling, at most maxTtl.
 *
 * @param previous the name's state before the round
 * @param lookup what the DNS said for A and AAAA
 * @param now the time of the round, in milliseconds
 * @param bounds TTL clamps and the negative hold time
 * @returns the decision
 */
export function decideResolution(
  previous: NameState,
  lookup: NameLookup,
  now: number,
  bounds: ResolutionBounds,
): ResolutionDecision {
  const { v4, v6 } = lookup;
  const anyRecords = v4.kind === 'records' || v6.kind === 'records';
  if (anyRecords) {
    const ignored: string[] = [];
    const fresh4 = familyAddresses(v4, previous.v4, 4, ignored);
    const fresh6 = familyAddresses(v6, previous.v6, 6, ignored);
    const ttl = Math.min(
      ...[v4, v6].flatMap((f) => (f.kind === 'records' ? f.records.map((r) => r.ttl) : [])),
    );
    const addresses = [...fresh4, ...fresh6];
    const state: NameState = {
      addresses,
      v4: fresh4,
      v6: fresh6,
      status: addresses.length > 0 ? 'resolved' : 'unresolved',
      misses: 0,
    };
    return {
      state,
      outcome: 'answer',
      delayMs: clamp(ttl * 1000, bounds.minTtlMs, bounds.maxTtlMs),
      changed: !sameAddresses(previous.addresses, addresses),
      ttl,
      ...(ignored.length > 0 ? { ignored } : {}),
    };
  }
  const codes = [v4.code, v6.code];
  const misses = previous.misses + 1;
  const delayMs = backoff(misses, bounds);
  if (v4.kind === 'failed' || v6.kind === 'failed') {
    const status =
      previous.addresses.length > 0 ? (previous.status === 'held' ? 'held' : 'stale') : 'unresolved';
    return { state: { ...previous, status, misses }, outcome: 'failure', delayMs, changed: false, codes };
  }
  const negativeSince = previous.negativeSince ?? now;
  if (previous.addresses.length > 0 && now - negativeSince < bounds.negativeHoldMs) {
    return {
      state: { ...previous, status: 'held', misses, negativeSince },
      outcome: 'negative',
      delayMs: Math.min(delayMs, Math.max(bounds.minTtlMs, negativeSince + bounds.negativeHoldMs - now)),
      changed: false,
      codes,
    };
  }
  return {
    state: { addresses: [], v4: [], v6: [], status: 'unresolved', misses, negativeSince },
    outcome: 'negative',
    delayMs,
    changed: previous.addresses.length > 0,
    codes,
  };
}

/**
 * The delay before the next round after `misses` rounds in a row without an address: minTtl,
 * doubling, at most maxTtl.
 */
export function backoff(misses: number, bounds: Pick<ResolutionBounds, 'minTtlMs' | 'maxTtlMs'>): number {
  return clamp(
    bounds.minTtlMs * 2 ** Math.min(Math.max(misses - 1, 0), 30),
    bounds.minTtlMs,
    bounds.maxTtlMs,
  );
}

function familyAddresses(
  lookup: FamilyLookup,
  previous: readonly string[],
  family: 4 | 6,
  ignored: string[],
): string[] {
  if (lookup.kind === 'failed') return [...previous];
  if (lookup.kind === 'negative') return [];
  const addresses = new Set<string>();
  for (const { address } of lookup.records) {
    const usable = (family === 6) === isIPv6(address) && isConnectable({ address, family });
    if (usable) addresses.add(address);
    else ignored.push(address);
  }
  return [...addresses].sort();
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(Number.isFinite(value) ? value : min, min), max);
}

/**
 * Whether two address lists hold the same addresses (order aside).
 *
 * @param a one list
 * @param b another
 */
export function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((address) => set.has(address));
}
