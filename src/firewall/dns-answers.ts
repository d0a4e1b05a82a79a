import type { NameLookup } from '../dns-proxy/resolution.js';

/** How the firewall follows its dnsName rules. */
export interface DnsBounds {
  /** A TTL below this (0 included) counts as this: a record is asked for again no sooner (1 s). */
  readonly minTtlSeconds: number;
  /** The TTL when none is known: the seed's 30 minutes. */
  readonly defaultTtlSeconds: number;
  /** After a failed or empty lookup, the next is tried after 1 s, 2 s, 4 s ... up to this (300 s). */
  readonly maxBackoffSeconds: number;
}

export const DNS_BOUNDS: DnsBounds = { minTtlSeconds: 1, defaultTtlSeconds: 30 * 60, maxBackoffSeconds: 300 };

/** What the firewall knows of one name. */
export interface NameAnswers {
  /** Every address still allowed, to when its own TTL runs out (ms since the epoch). */
  readonly addresses: ReadonlyMap<string, number>;
  /** Lookups that failed or found nothing in a row (0 after one with records). */
  readonly failures: number;
  /** The last lookup's error code (`ETIMEOUT`, `ENOTFOUND`), when it had no records. */
  readonly lastError: string | undefined;
  /** Whether a lookup ended at all yet. */
  readonly looked: boolean;
  /** The families whose last lookup failed (no answer): their addresses are kept meanwhile. */
  readonly failing: { readonly v4: boolean; readonly v6: boolean };
}

export const NO_ANSWERS: NameAnswers = {
  addresses: new Map(),
  failures: 0,
  lastError: undefined,
  looked: false,
  failing: { v4: false, v6: false },
};

/** A lookup folded into what was known, and when to act next. */
export interface AnswerStep {
  readonly answers: NameAnswers;
  /** Whether the set of allowed addresses changed. */
  readonly changed: boolean;
  /** When to look the name up again, ms from now. */
  readonly lookupInMs: number;
  /** When the next retained address expires, ms from now (undefined: none to expire). */
  readonly expireInMs: number | undefined;
}

/**
 * Folds a lookup into a name's answers. Pure.
 *
 * - Every answered address is allowed until its TTL from now (clamped below at `minTtlSeconds`).
 * - An address a newer answer no longer has stays allowed until its own TTL runs out: a pod may
 *   still hold the older answer in its cache (the DNS race openshift-sdn users kept reporting).
 * - While a family's lookups fail (no answer: timeout, server failure), its addresses are kept,
 *   expired or not, as openshift-sdn kept the old IPs; a negative answer (no such name, no records)
 *   lets them run out at their TTL.
 * - The next lookup is at the smallest TTL of the answer; after a lookup without records, after a
 *   back-off doubling from 1 s to `maxBackoffSeconds`.
 *
 * @param previous what was known
 * @param lookup what the DNS said, per family
 * @param now the time, ms
 * @param bounds the TTL bounds
 */
export function foldLookup(
  previous: NameAnswers,
  lookup: NameLookup,
  now: number,
  bounds: DnsBounds = DNS_BOUNDS,
): AnswerStep {
  const next = new Map<string, number>();
  const families = [
    { result: lookup.v4, v6: false },
    { result: lookup.v6, v6: true },
  ];
  let minTtl: number | undefined;
  let error: string | undefined;
  for (const { result, v6 } of families) {
    const old = [...previous.addresses].filter(([address]) => address.includes(':') === v6);
    if (result.kind === 'records') {
      for (const [address, expires] of old) if (expires > now) next.set(address, expires);
      for (const record of result.records) {
        const ttl = Number.isFinite(record.ttl)
          ? Math.max(record.ttl, bounds.minTtlSeconds)
          : bounds.defaultTtlSeconds;
        minTtl = Math.min(minTtl ?? ttl, ttl);
        const expires = now + ttl * 1000;
        next.set(address(record.address), Math.max(expires, next.get(address(record.address)) ?? 0));
      }
    } else if (result.kind === 'failed') {
      for (const [address, expires] of old) next.set(address, expires);
      error ??= result.code;
    } else {
      for (const [address, expires] of old) if (expires > now) next.set(address, expires);
      error ??= result.code;
    }
  }
  const gotRecords = minTtl !== undefined;
  const failures = gotRecords ? 0 : previous.failures + 1;
  const lookupInMs = gotRecords
    ? minTtl! * 1000
    : Math.min(1000 * 2 ** Math.min(failures - 1, 30), bounds.maxBackoffSeconds * 1000);
  const failing = { v4: lookup.v4.kind === 'failed', v6: lookup.v6.kind === 'failed' };
  let expireAt: number | undefined;
  for (const [addr, expires] of next) {
    if (addr.includes(':') ? failing.v6 : failing.v4) continue;
    expireAt = Math.min(expireAt ?? expires, expires);
  }
  const answers: NameAnswers = {
    addresses: next,
    failures,
    lastError: gotRecords ? undefined : error,
    looked: true,
    failing,
  };
  return {
    answers,
    changed: !sameKeys(previous.addresses, next),
    lookupInMs,
    expireInMs: expireAt === undefined ? undefined : Math.max(expireAt - now, 0),
  };
}

/**
 * Drops the addresses whose TTL ran out, but those of a family whose last lookup failed (see
 * foldLookup). Pure.
 *
 * @returns the answers, whether any address went, and when the next one expires
 */
export function expireAnswers(
  previous: NameAnswers,
  now: number,
): { answers: NameAnswers; changed: boolean; expireInMs: number | undefined } {
  const next = new Map<string, number>();
  let expireAt: number | undefined;
  for (const [addr, expires] of previous.addresses) {
    const kept = addr.includes(':') ? previous.failing.v6 : previous.failing.v4;
    if (expires > now || kept) next.set(addr, expires);
    if (expires > now && !kept) expireAt = Math.min(expireAt ?? expires, expires);
  }
  return {
    answers: { ...previous, addresses: next },
    changed: next.size !== previous.addresses.size,
    expireInMs: expireAt === undefined ? undefined : expireAt - now,
  };
}

function address(text: string): string {
  return text.toLowerCase();
}

function sameKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const key of a.keys()) if (!b.has(key)) return false;
  return true;
}
