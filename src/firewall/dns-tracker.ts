import { type LookupName, lookupName } from '../dns-proxy/dns-lookup.js';
import type { NameLookup } from '../dns-proxy/resolution.js';
import {
  DNS_BOUNDS,
  type DnsBounds,
  expireAnswers,
  foldLookup,
  type NameAnswers,
  NO_ANSWERS,
} from './dns-answers.js';

/** One name as `node status` shows it. */
export interface NameStatus {
  readonly name: string;
  readonly addresses: readonly { readonly address: string; readonly expiresInSeconds: number }[];
  readonly failures: number;
  readonly lastError: string | undefined;
  readonly nextLookupInSeconds: number | undefined;
}

/** Options of {@link DnsTracker}. */
export interface DnsTrackerOptions {
  /** Told after any name's allowed addresses changed. */
  readonly onChange: () => void;
  /** Told after every lookup (logs, metrics). */
  readonly onLookup?: (name: string, lookup: NameLookup, answers: NameAnswers) => void;
  /** The DNS (default: the nameservers of the node's /etc/resolv.conf, A and AAAA with TTLs). */
  readonly lookup?: LookupName;
  readonly bounds?: DnsBounds;
  readonly now?: () => number;
}

interface Tracked {
  answers: NameAnswers;
  lookupTimer: NodeJS.Timeout | undefined;
  expireTimer: NodeJS.Timeout | undefined;
  nextLookupAt: number | undefined;
  closed: boolean;
}

/**
 * Keeps the dnsNames of the enforced policies resolved from the node's resolvers: each at its
 * TTL, retried with back-off while it gets no address, every address of both families kept until
 * its own TTL runs out (see foldLookup). The timers are unref'd.
 */
export class DnsTracker {
  readonly #names = new Map<string, Tracked>();
  readonly #options: DnsTrackerOptions;
  readonly #lookup: LookupName;
  readonly #now: () => number;
  readonly #bounds: DnsBounds;
  #waiters: (() => void)[] = [];

  constructor(options: DnsTrackerOptions) {
    this.#options = options;
    this.#lookup = options.lookup ?? lookupName;
    this.#now = options.now ?? Date.now;
    this.#bounds = options.bounds ?? DNS_BOUNDS;
  }

  /**
   * Follows exactly these names: new ones are looked up at once, the others dropped.
   *
   * @param names the dnsNames of the enforced policies
   */
  setNames(names: Iterable<string>): void {
    const wanted = new Set(names);
    for (const [name, tracked] of this.#names) {
      if (wanted.has(name)) continue;
      this.#stop(tracked);
      this.#names.delete(name);
    }
    for (const name of wanted) {
      if (this.#names.has(name)) continue;
      const tracked: Tracked = {
        answers: NO_ANSWERS,
        lookupTimer: undefined,
        expireTimer: undefined,
        nextLookupAt: undefined,
        closed: false,
      };
      this.#names.set(name, tracked);
      void this.#round(name, tracked);
    }
    this.#wake();
  }

  /** Each followed name's allowed addresses, sorted. */
  addresses(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [name, tracked] of this.#names) out.set(name, [...tracked.answers.addresses.keys()].sort());
    return out;
  }

  /**
   * Resolves once every followed name had its first lookup (or at once when there are none).
   *
   * @param timeoutMs resolve anyway after this long
   */
  settled(timeoutMs: number): Promise<void> {
    if (this.#allLooked()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Every followed name, for `node status`. */
  status(): NameStatus[] {
    const now = this.#now();
    return [...this.#names]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, t]) => ({
        name,
        addresses: [...t.answers.addresses]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([address, expires]) => ({ address, expiresInSeconds: Math.round((expires - now) / 1000) })),
        failures: t.answers.failures,
        lastError: t.answers.lastError,
        nextLookupInSeconds:
          t.nextLookupAt === undefined ? undefined : Math.max(0, Math.round((t.nextLookupAt - now) / 1000)),
      }));
  }

  /** Stops every timer. */
  close(): void {
    for (const tracked of this.#names.values()) this.#stop(tracked);
    this.#names.clear();
    this.#wake();
  }

  async #round(name: string, tracked: Tracked): Promise<void> {
    let lookup: NameLookup;
    try {
      lookup = await this.#lookup(name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
      lookup = { v4: { kind: 'failed', code }, v6: { kind: 'failed', code } };
    }
    if (tracked.closed) return;
    const step = foldLookup(tracked.answers, lookup, this.#now(), this.#bounds);
    tracked.answers = step.answers;
    tracked.nextLookupAt = this.#now() + step.lookupInMs;
    tracked.lookupTimer = setTimeout(() => void this.#round(name, tracked), step.lookupInMs);
    tracked.lookupTimer.unref();
    this.#scheduleExpiry(tracked, step.expireInMs);
    this.#options.onLookup?.(name, lookup, step.answers);
    this.#wake();
    if (step.changed) this.#options.onChange();
  }

  #scheduleExpiry(tracked: Tracked, inMs: number | undefined): void {
    clearTimeout(tracked.expireTimer);
    tracked.expireTimer = undefined;
    if (inMs === undefined) return;
    tracked.expireTimer = setTimeout(() => {
      if (tracked.closed) return;
      const expired = expireAnswers(tracked.answers, this.#now());
      tracked.answers = expired.answers;
      this.#scheduleExpiry(tracked, expired.expireInMs);
      if (expired.changed) this.#options.onChange();
    }, inMs + 1);
    tracked.expireTimer.unref();
  }

  #stop(tracked: Tracked): void {
    tracked.closed = true;
    clearTimeout(tracked.lookupTimer);
    clearTimeout(tracked.expireTimer);
  }

  #allLooked(): boolean {
    for (const tracked of this.#names.values()) if (!tracked.answers.looked) return false;
    return true;
  }

  #wake(): void {
    if (!this.#allLooked()) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
