import { type ClusterObject, ClusterStateBuilder, readClusterObject } from './objects.js';
import type { ClusterKind, ClusterState, SourceProblem } from './types.js';

/** What the cache holds for one API object: the typed object, or why it was refused. */
type Entry =
  | { readonly object: ClusterObject; readonly problem?: undefined; readonly fingerprint: string }
  | { readonly object?: undefined; readonly problem: SourceProblem; readonly fingerprint: string };

/**
 * The objects of one kind as a list+watch client last saw them, read with readClusterObject (list
 * items carry no kind: the cache's kind is the hint). Each method says whether anything the agent
 * reads changed, so that a pod's status heartbeat or a bookmark is not a new state.
 */
export class KindCache {
  #entries = new Map<string, Entry>();

  /** @param kind the kind of every object given to this cache */
  constructor(readonly kind: ClusterKind) {}

  /** How many objects (and refused objects) it holds. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Replaces everything with a list's items (objects not in it are gone).
   *
   * @param items the raw items of a list
   * @returns whether anything changed
   */
  replace(items: readonly unknown[]): boolean {
    const next = new Map<string, Entry>();
    for (const item of items) {
      const read = this.#read(item);
      if (read.entry !== undefined) next.set(read.key, read.entry);
    }
    const changed =
      next.size !== this.#entries.size ||
      [...next].some(([key, e]) => this.#entries.get(key)?.fingerprint !== e.fingerprint);
    this.#entries = next;
    return changed;
  }

  /**
   * Applies an ADDED or MODIFIED event.
   *
   * @param raw the event's object
   * @returns whether anything changed
   */
  put(raw: unknown): boolean {
    const { key, entry } = this.#read(raw);
    const old = this.#entries.get(key);
    if (entry === undefined) return this.#entries.delete(key);
    this.#entries.set(key, entry);
    return old?.fingerprint !== entry.fingerprint;
  }

  /**
   * Applies a DELETED event.
   *
   * @param raw the event's object (its last state)
   * @returns whether anything changed
   */
  delete(raw: unknown): boolean {
    return this.#entries.delete(this.#read(raw).key);
  }

  /** Adds what it holds to a state being built: objects, and refused objects as problems. */
  addTo(builder: ClusterStateBuilder): void {
    for (const entry of this.#entries.values()) {
      if (entry.object !== undefined) builder.add(entry.object);
    }
  }

  /** The refused objects, as problems with origin `<Kind> <namespace>/<name>`. */
  problems(): SourceProblem[] {
    return [...this.#entries.values()].flatMap((entry) =>
      entry.problem === undefined ? [] : [entry.problem],
    );
  }

  #read(raw: unknown): { key: string; entry: Entry | undefined } {
    const result = readClusterObject(raw, undefined, this.kind);
    if (result.ok && result.object !== undefined) {
      return {
        key: result.object.key,
        entry: { object: result.object, fingerprint: JSON.stringify(result.object.object) },
      };
    }
    const key = identity(raw);
    if (result.ok) return { key, entry: undefined };
    const problem = { origin: `${this.kind} ${key}`, message: result.message };
    return { key, entry: { problem, fingerprint: JSON.stringify(problem) } };
  }
}

/**
 * The whole state of some caches. Pure (reads the caches as they are).
 *
 * @param caches one per kind
 * @returns a new ClusterState; problems sorted by origin
 */
export function buildClusterState(caches: readonly KindCache[]): ClusterState {
  const builder = new ClusterStateBuilder();
  const problems: SourceProblem[] = [];
  for (const cache of caches) {
    cache.addTo(builder);
    problems.push(...cache.problems());
  }
  problems.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
  for (const problem of problems) builder.problem(problem);
  return builder.build();
}

/** `namespace/name` or `name` from an object's metadata, as readClusterObject keys it; `?` when it has none. */
function identity(raw: unknown): string {
  const metadata = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata : {};
  const name = typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : '?';
  return typeof metadata.namespace === 'string' && metadata.namespace !== ''
    ? `${metadata.namespace}/${name}`
    : name;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
