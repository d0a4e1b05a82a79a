/**
 * `--source kubernetes`: the node agent's objects from the Kubernetes (or OpenShift) API, one
 * list+watch reflector per kind, delivered as whole ClusterStates. Loaded by a dynamic import, so
 * that the commands that do not read the API never load the client library.
 */
import { createKubernetesApi, type KubernetesApi, loadKubeConfig } from './kubernetes-api.js';
import { buildClusterState } from './kubernetes-cache.js';
import {
  DEFAULT_REFLECTOR_TIMING,
  type KubernetesResource,
  Reflector,
  type ReflectorTiming,
} from './kubernetes-reflector.js';
import type { ClusterState, ObjectSource } from './types.js';

/**
 * The five collections, across all namespaces. On OpenShift 3.11 the API serves the network kinds;
 * on plain Kubernetes our CRDs do, at the same paths.
 */
export const KUBERNETES_RESOURCES: readonly KubernetesResource[] = [
  { kind: 'Namespace', path: '/api/v1/namespaces', plural: 'namespaces' },
  { kind: 'Pod', path: '/api/v1/pods', plural: 'pods' },
  {
    kind: 'EgressNetworkPolicy',
    path: '/apis/network.openshift.io/v1/egressnetworkpolicies',
    plural: 'egressnetworkpolicies',
  },
  { kind: 'NetNamespace', path: '/apis/network.openshift.io/v1/netnamespaces', plural: 'netnamespaces' },
  { kind: 'HostSubnet', path: '/apis/network.openshift.io/v1/hostsubnets', plural: 'hostsubnets' },
];

/** How long changes are gathered into one state by default. */
export const DEFAULT_DEBOUNCE_MS = 100;

/** A log line's fields: `msg` and whatever else says what happened. */
export type SourceLog = (event: { msg: string; [k: string]: unknown }) => void;

/** Options of createKubernetesSource. */
export interface KubernetesSourceOptions {
  /**
   * A kubeconfig file. Default: the pod's service account when `KUBERNETES_SERVICE_HOST` is set,
   * else `KUBECONFIG` or `~/.kube/config`.
   */
  readonly kubeconfig?: string;
  /** Changes seen within this long of the first one are delivered as one state (default 100 ms). */
  readonly debounceMs?: number;
  /** Told what the source does and what it recovers from. */
  readonly log?: SourceLog;
  /** Retry timing (tests shorten it); default DEFAULT_REFLECTOR_TIMING. */
  readonly timing?: Partial<ReflectorTiming>;
}

/**
 * The Kubernetes object source. Lists and watches namespaces, pods, egressnetworkpolicies,
 * netnamespaces and hostsubnets; the first state comes once every kind's first list is in (a kind
 * answered with 404, a CRD not installed, is empty and asked for again periodically); then a new
 * whole state after changes, at most one per `debounceMs`.
 *
 * @param options see KubernetesSourceOptions
 * @returns a source described as `kubernetes <server URL>`, with its API (the node Leases write there)
 * @throws Error (one line) when the configuration cannot be read
 */
export function createKubernetesSource(
  options: KubernetesSourceOptions = {},
): ObjectSource & { readonly api: KubernetesApi } {
  return new KubernetesSource(createKubernetesApi(loadKubeConfig(options.kubeconfig)), options);
}

class KubernetesSource implements ObjectSource {
  readonly description: string;
  readonly #debounceMs: number;
  readonly #log: SourceLog;
  readonly #timing: ReflectorTiming;
  #reflectors: Reflector[] = [];
  #started = false;
  #closed = false;
  #delivering = false;
  #timer: NodeJS.Timeout | undefined;
  #rejectStart: ((error: Error) => void) | undefined;

  constructor(
    readonly api: KubernetesApi,
    options: KubernetesSourceOptions,
  ) {
    this.description = `kubernetes ${api.server}`;
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#log = options.log ?? (() => {});
    this.#timing = { ...DEFAULT_REFLECTOR_TIMING, ...options.timing };
  }

  start(onState: (state: ClusterState) => void, onError?: (error: Error) => void): Promise<void> {
    if (this.#started) return Promise.reject(new Error('kubernetes source: already started'));
    if (this.#closed) return Promise.reject(new Error('kubernetes source: closed'));
    this.#started = true;
    return new Promise<void>((resolve, reject) => {
      this.#rejectStart = reject;
      let unsynced = KUBERNETES_RESOURCES.length;
      const report = (error: Error) => {
        try {
          onError?.(error);
        } catch (thrown) {
          this.#log({ msg: `kubernetes source: the error handler threw: ${String(thrown)}` });
        }
      };
      const deliver = () => {
        this.#timer = undefined;
        if (this.#closed) return;
        const state = buildClusterState(this.#reflectors.map((r) => r.cache));
        try {
          onState(state);
        } catch (error) {
          const failure = new Error(`kubernetes source: the state consumer threw: ${String(error)}`, {
            cause: error,
          });
          this.#log({ msg: failure.message });
          report(failure);
        }
      };
      this.#reflectors = KUBERNETES_RESOURCES.map(
        (resource) =>
          new Reflector(
            resource,
            this.api,
            {
              changed: () => {
                if (this.#delivering && this.#timer === undefined && !this.#closed) {
                  this.#timer = setTimeout(deliver, this.#debounceMs);
                }
              },
              synced: () => {
                unsynced -= 1;
                if (unsynced > 0 || this.#closed) return;
                this.#delivering = true;
                this.#rejectStart = undefined;
                this.#log({ msg: 'kubernetes source: every kind listed', server: this.api.server });
                deliver();
                resolve();
              },
              failed: (error) => {
                this.#rejectStart = undefined;
                void this.close();
                reject(error);
              },
              error: report,
              log: this.#log,
            },
            this.#timing,
          ),
      );
      for (const reflector of this.#reflectors) reflector.start();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const reflector of this.#reflectors) reflector.close();
    const reject = this.#rejectStart;
    this.#rejectStart = undefined;
    reject?.(new Error('kubernetes source: closed before the first state'));
  }
}
