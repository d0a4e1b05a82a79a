import { type LookupName, lookupName } from './dns-lookup.js';
import {
  decideResolution,
  type NameLookup,
  type NameState,
  PENDING,
  type ResolutionBounds,
  type ResolutionDecision,
} from './resolution.js';

/** A watched name: its current state, replaced (never mutated) by every resolution round. */
export interface NameRecord {
  readonly name: string;
  state: NameState;
}

/** Told about every round: the decision and the state before it. */
export type ResolutionListener = (name: string, decision: ResolutionDecision, previous: NameState) => void;

/** Options of {@link NameResolver}. */
export interface NameResolverOptions {
  readonly bounds: ResolutionBounds;
  readonly onResolution: ResolutionListener;
  /** The DNS (default: the nameservers of /etc/resolv.conf). */
  readonly lookup?: LookupName;
  readonly now?: () => number;
}

interface Watched {
  readonly record: NameRecord;
  users: number;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
}

/**
 * Keeps the names of the destination list resolved: resolves a name as soon as it is watched, then
 * again when its TTL runs out (clamped), or after a back-off while it gets no address. One round at
 * a time per name; entries sharing a name share its rounds. Connections read `record.state`.
 */
export class NameResolver {
  readonly #names = new Map<string, Watched>();
  readonly #options: NameResolverOptions;
  readonly #lookup: LookupName;
  readonly #now: () => number;

  constructor(options: NameResolverOptions) {
    this.#options = options;
    this.#lookup = options.lookup ?? lookupName;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Starts keeping a name resolved (or counts one more user of it).
   *
   * @param name a canonical domain name
   * @returns its record, whose state the rounds replace
   */
  watch(name: string): NameRecord {
    const known = this.#names.get(name);
    if (known) {
      known.users++;
      return known.record;
    }
    const watched: Watched = { record: { name, state: PENDING }, users: 1, timer: undefined, closed: false };
    this.#names.set(name, watched);
    void this.#round(watched);
    return watched.record;
  }

  /**
   * One user fewer; the last one stops the rounds.
   *
   * @param name a watched name
   */
  unwatch(name: string): void {
    const watched = this.#names.get(name);
    if (!watched || --watched.users > 0) return;
    this.#stop(watched);
    this.#names.delete(name);
  }

  /** The names being kept resolved. */
  names(): string[] {
    return [...this.#names.keys()];
  }

  /** Stops every round. */
  close(): void {
    for (const watched of this.#names.values()) this.#stop(watched);
    this.#names.clear();
  }

  #stop(watched: Watched): void {
    watched.closed = true;
    clearTimeout(watched.timer);
  }

  async #round(watched: Watched): Promise<void> {
    const { record } = watched;
    let lookup: NameLookup;
    try {
      lookup = await this.#lookup(record.name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
      lookup = { v4: { kind: 'failed', code }, v6: { kind: 'failed', code } };
    }
    if (watched.closed) return;
    const previous = record.state;
    const decision = decideResolution(previous, lookup, this.#now(), this.#options.bounds);
    record.state = decision.state;
    watched.timer = setTimeout(() => void this.#round(watched), decision.delayMs);
    watched.timer.unref();
    this.#options.onResolution(record.name, decision, previous);
  }
}
