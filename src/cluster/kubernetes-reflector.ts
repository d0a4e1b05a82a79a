import type { KubernetesApi } from './kubernetes-api.js';
import { KindCache } from './kubernetes-cache.js';
import { KubernetesApiError } from './kubernetes-error.js';
import type { ClusterKind } from './types.js';

/** A collection a reflector follows. */
export interface KubernetesResource {
  readonly kind: ClusterKind;
  /** The collection across all namespaces, e.g. `/api/v1/pods`. */
  readonly path: string;
  /** The resource's plural name, for messages: `pods`. */
  readonly plural: string;
}

/** How a reflector waits. */
export interface ReflectorTiming {
  /** The first wait after a failure; doubled after each further one. */
  readonly retryInitialMs: number;
  /** The longest wait after failures. */
  readonly retryMaxMs: number;
  /** How often a collection the server does not serve (404) is asked for again. */
  readonly absentRetryMs: number;
  /** A watch that stayed open this long worked: the failures before it are forgotten. */
  readonly healthyWatchMs: number;
}

/** Default timing: 0.5 s doubling to 30 s; a kind not served asked for every minute. */
export const DEFAULT_REFLECTOR_TIMING: ReflectorTiming = {
  retryInitialMs: 500,
  retryMaxMs: 30_000,
  absentRetryMs: 60_000,
  healthyWatchMs: 5_000,
};

/** The server ends a watch after a random 5 to 10 minutes (as client-go asks); we allow it 30 s more. */
const WATCH_MIN_SECONDS = 300;
const WATCH_GRACE_MS = 30_000;

/** What a reflector tells its owner. */
export interface ReflectorEvents {
  /** The cache changed. */
  changed(): void;
  /** The first list is in (or the collection is not served): the cache is a whole view now. */
  synced(): void;
  /** The first list failed (not with 404): the reflector stopped. One line, `kubernetes source: …`. */
  failed(error: Error): void;
  /** A problem it recovers from by itself (a lost watch, a failed relist). */
  error(error: Error): void;
  log(event: { msg: string; [k: string]: unknown }): void;
}

/**
 * Follows one collection: lists it into a KindCache, then watches from the list's resource version
 * (with bookmarks), and so on for as long as it is open:
 *
 * - ADDED/MODIFIED/DELETED are applied; every event, BOOKMARK included, advances the resource version;
 * - a watch that ends cleanly is opened again at once from the last resource version (after a
 *   backoff if it did not stay open `healthyWatchMs`); one that fails (connection lost, an HTTP
 *   error, an ERROR event) is reported and opened again after the backoff, from the same version;
 * - `410 Gone` (the HTTP status, or an ERROR event with a Status of code 410) lists again, and the
 *   list replaces the cache (what was deleted in the gap is gone); repeated 410s back off;
 * - a collection the server answers 404 for (a CRD not installed) is empty, logged once, and asked
 *   for again every `absentRetryMs`.
 */
export class Reflector {
  readonly cache: KindCache;
  #resourceVersion = '';
  #synced = false;
  #closed = false;
  #absent = false;
  /** Watch failures since the last healthy watch or successful list. */
  #failures = 0;
  /** 410s since a watch last delivered an event or stayed open. */
  #expiredInARow = 0;
  #timer: NodeJS.Timeout | undefined;
  #listAbort: AbortController | undefined;
  #stopWatch: (() => void) | undefined;

  constructor(
    readonly resource: KubernetesResource,
    private readonly api: KubernetesApi,
    private readonly events: ReflectorEvents,
    private readonly timing: ReflectorTiming = DEFAULT_REFLECTOR_TIMING,
  ) {
    this.cache = new KindCache(resource.kind);
  }

  /** Starts with the first list. */
  start(): void {
    void this.#list();
  }

  /** Aborts the list or watch under way and every timer. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listAbort?.abort();
    this.#listAbort = undefined;
    this.#stopWatch?.();
    this.#stopWatch = undefined;
  }

  async #list(): Promise<void> {
    const abort = new AbortController();
    this.#listAbort = abort;
    let answer: Awaited<ReturnType<KubernetesApi['list']>>;
    try {
      answer = await this.api.list(this.resource.path, abort.signal);
    } catch (error) {
      if (this.#closed) return;
      this.#listAbort = undefined;
      const failure = asApiError(error);
      if (failure.status === 404) return this.#notServed();
      if (!this.#synced) {
        this.close();
        this.events.failed(
          new Error(`kubernetes source: cannot list ${this.resource.plural}: ${failure.message}`),
        );
        return;
      }
      this.#failures += 1;
      const delay = this.#backoff(this.#failures);
      this.#report(`kubernetes source: cannot list ${this.resource.plural}: ${failure.message}`, delay);
      this.#after(delay, () => void this.#list());
      return;
    }
    if (this.#closed) return;
    this.#listAbort = undefined;
    if (this.#absent) {
      this.#absent = false;
      this.events.log({
        msg: `kubernetes source: ${this.resource.plural} served again`,
        kind: this.resource.kind,
      });
    }
    this.#failures = 0;
    this.#resourceVersion = answer.resourceVersion;
    const changed = this.cache.replace(answer.items);
    if (!this.#synced) {
      this.#synced = true;
      this.events.synced();
    } else if (changed) {
      this.events.changed();
    }
    this.#watch();
  }

  #notServed(): void {
    this.#resourceVersion = '';
    const changed = this.cache.replace([]);
    if (!this.#absent) {
      this.#absent = true;
      this.events.log({
        msg: `kubernetes source: ${this.resource.plural} not served (404: no CRD?), treated as empty; asked for again periodically`,
        kind: this.resource.kind,
        path: this.resource.path,
        retryInMs: this.timing.absentRetryMs,
      });
    }
    if (!this.#synced) {
      this.#synced = true;
      this.events.synced();
    } else if (changed) {
      this.events.changed();
    }
    this.#after(this.timing.absentRetryMs, () => void this.#list());
  }

  #watch(): void {
    const openedAt = Date.now();
    const timeoutSeconds = WATCH_MIN_SECONDS + Math.floor(Math.random() * WATCH_MIN_SECONDS);
    const from = this.#resourceVersion;
    let settled = false;
    let stop: (() => void) | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const end = (outcome: WatchOutcome) => {
      if (settled || this.#closed) return;
      settled = true;
      clearTimeout(watchdog);
      stop?.();
      this.#stopWatch = undefined;
      this.#watchEnded(outcome, Date.now() - openedAt >= this.timing.healthyWatchMs, from);
    };
    stop = this.api.watch(
      this.resource.path,
      { resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) },
      {
        event: ({ type, object }) => {
          if (settled || this.#closed) return;
          if (type === 'ERROR') return end(errorEventOutcome(object));
          if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') {
            return end({
              relist: undefined,
              error: new KubernetesApiError(`the watch sent an event of type '${type}'`, 200),
            });
          }
          this.#expiredInARow = 0;
          const version = resourceVersionOf(object);
          if (version !== undefined) this.#resourceVersion = version;
          if (type === 'BOOKMARK') return;
          const changed = type === 'DELETED' ? this.cache.delete(object) : this.cache.put(object);
          if (changed) this.events.changed();
        },
        done: (error) => end(doneOutcome(error)),
      },
    );
    this.#stopWatch = () => {
      settled = true;
      clearTimeout(watchdog);
      stop?.();
    };
    watchdog = setTimeout(
      () => end({ relist: undefined, error: undefined }),
      timeoutSeconds * 1000 + WATCH_GRACE_MS,
    );
  }

  #watchEnded(outcome: WatchOutcome, healthy: boolean, from: string): void {
    const { kind, plural } = this.resource;
    if (healthy) {
      this.#failures = 0;
      this.#expiredInARow = 0;
    }
    if (outcome.relist !== undefined) {
      this.#expiredInARow += 1;
      const delay = this.#expiredInARow === 1 ? 0 : this.#backoff(this.#expiredInARow - 1);
      const msg =
        outcome.relist === 'expired'
          ? `kubernetes source: resource version of ${plural} expired (410), listing again`
          : `kubernetes source: watch of ${plural} answered 404, listing again`;
      this.events.log({ msg, kind, resourceVersion: from, retryInMs: delay });
      this.#resourceVersion = '';
      this.#after(delay, () => void this.#list());
      return;
    }
    if (outcome.error === undefined && healthy) {
      this.events.log({
        msg: `kubernetes source: watch of ${plural} ended, watching again`,
        kind,
        resourceVersion: this.#resourceVersion,
      });
      this.#after(0, () => this.#watch());
      return;
    }
    this.#failures += 1;
    const delay = this.#backoff(this.#failures);
    const why = outcome.error === undefined ? 'ended at once' : `failed: ${outcome.error.message}`;
    this.#report(`kubernetes source: watch of ${plural} ${why}`, delay);
    this.#after(delay, () => this.#watch());
  }

  #report(message: string, retryInMs: number): void {
    this.events.log({ msg: message, kind: this.resource.kind, retryInMs });
    this.events.error(new Error(`${message}; again in ${retryInMs} ms`));
  }

  #backoff(failures: number): number {
    return Math.min(this.timing.retryMaxMs, this.timing.retryInitialMs * 2 ** Math.max(0, failures - 1));
  }

  #after(delay: number, run: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) run();
    }, delay);
  }
}

/** How a watch ended: with a reason to list again (410, 404), or cleanly / with an error to watch again. */
type WatchOutcome =
  | { readonly relist: 'expired' | 'not found'; readonly error?: undefined }
  | { readonly relist: undefined; readonly error: KubernetesApiError | undefined };

/** The end of a stream: 410 and 404 list again, anything else watches again. */
function doneOutcome(error: KubernetesApiError | undefined): WatchOutcome {
  if (error?.status === 410) return { relist: 'expired' };
  if (error?.status === 404) return { relist: 'not found' };
  return { relist: undefined, error };
}

/** An ERROR event's Status: code 410 is an expired resource version, anything else a failed watch. */
function errorEventOutcome(status: unknown): WatchOutcome {
  const record = isRecord(status) ? status : {};
  if (record.code === 410) return { relist: 'expired' };
  const code = typeof record.code === 'number' ? ` ${record.code}` : '';
  const message = typeof record.message === 'string' ? record.message : 'no message';
  return { relist: undefined, error: new KubernetesApiError(`ERROR event${code}: ${message}`, undefined) };
}

function resourceVersionOf(object: unknown): string | undefined {
  const metadata = isRecord(object) && isRecord(object.metadata) ? object.metadata : undefined;
  const version = metadata?.resourceVersion;
  return typeof version === 'string' && version !== '' ? version : undefined;
}

function asApiError(error: unknown): KubernetesApiError {
  return error instanceof KubernetesApiError
    ? error
    : new KubernetesApiError(error instanceof Error ? error.message : String(error), undefined, {
        cause: error,
      });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
