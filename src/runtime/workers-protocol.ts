/**
 * The messages between the supervisor and its workers (over the cluster IPC channel). Every one has
 * a `t` starting with `egress-`, so the cluster module's own messages are never taken for ours.
 */

/** The supervisor to a worker. */
export type ToWorker =
  /** The answer to `egress-hello`: the list text the worker starts with. */
  | { readonly t: 'egress-init'; readonly text: string }
  /** Apply this list (already validated by the supervisor); answer `egress-reloaded`. */
  | { readonly t: 'egress-reload'; readonly id: number; readonly text: string }
  /** Send your metrics (Prometheus text); answer `egress-metrics`. */
  | { readonly t: 'egress-metrics'; readonly id: number }
  /** Stop: drain, then exit. `now`: end the drain at once (a second signal). */
  | { readonly t: 'egress-stop'; readonly now: boolean };

/** A worker to the supervisor. */
export type FromWorker =
  | { readonly t: 'egress-hello' }
  /** The worker listens and takes traffic. */
  | { readonly t: 'egress-ready' }
  | { readonly t: 'egress-reloaded'; readonly id: number; readonly ok: boolean; readonly error?: string }
  | { readonly t: 'egress-metrics'; readonly id: number; readonly text: string };

/** The environment variable that gives a worker its number (1 to N). */
export const WORKER_INDEX_VARIABLE = 'EGRESS_WORKER_INDEX';

/**
 * Whether a value received over IPC is one of ours.
 *
 * @param message what came
 * @returns true for an object whose `t` starts with `egress-`
 */
export function isEgressMessage(message: unknown): message is { readonly t: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { t?: unknown }).t === 'string' &&
    (message as { t: string }).t.startsWith('egress-')
  );
}
