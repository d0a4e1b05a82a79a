import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import { BatchedWriter, createLogger, LOG_FLUSH_MS, type Logger } from './logger.js';
import {
  type FromWorker,
  isEgressMessage,
  type ToWorker,
  WORKER_INDEX_VARIABLE,
} from './workers-protocol.js';

/**
 * A worker's log batches stay under this size, below the pipe's atomic write size (PIPE_BUF, 4 KiB),
 * so that the lines of several workers writing to one stdout pipe never interleave (unless one
 * line is larger by itself).
 */
const WORKER_LOG_BATCH = 2048;
/** How long the supervisor has to answer the first message. */
const HELLO_TIMEOUT_MS = 10_000;

/** What applying a list in a worker gave. */
export type ReloadOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** What a worker serves the supervisor. */
export interface WorkerHandlers {
  /** The registry the supervisor scrapes (the sum is on the supervisor's admin port). */
  readonly registry: Registry;
  /** Applies a list the supervisor validated. */
  reload(text: string): ReloadOutcome | Promise<ReloadOutcome>;
}

/** A worker's side of the supervisor's channel. */
export interface WorkerLink {
  /** This worker's number, 1 to N. */
  readonly index: number;
  /** The list text the supervisor runs now: the one to start with. */
  readonly text: string;
  /**
   * The worker's logger: JSON lines on stdout, each with `"worker": index`, written in batches
   * small enough to stay whole next to the other workers' lines.
   *
   * @param options debug logging, the component's name
   */
  logger(options: { debug: boolean; name: string }): Logger;
  /** Tells the supervisor that this worker takes traffic, and answers its reloads and scrapes from now on. */
  serve(handlers: WorkerHandlers): void;
  /**
   * Calls `handler` when the supervisor says to stop (its SIGTERM); `now` is true for the second
   * time (end the drain at once).
   */
  onStop(handler: (now: boolean) => void): void;
  /** Closes the channel once the worker has drained (the channel would keep the process alive). */
  close(): void;
}

/**
 * Whether this process is a worker started by `startWorkers()` (workers.ts).
 *
 * @returns true in a worker
 */
export function isWorkerProcess(): boolean {
  return process.env[WORKER_INDEX_VARIABLE] !== undefined && typeof process.send === 'function';
}

/**
 * Connects a worker to its supervisor: asks for the list to start with. Requests that come before
 * {@link WorkerLink.serve} wait for it.
 *
 * @returns the link
 * @throws Error when this is not a worker, or the supervisor does not answer
 */
export async function connectToSupervisor(): Promise<WorkerLink> {
  if (!isWorkerProcess()) throw new Error('not a worker process');
  const index = Number(process.env[WORKER_INDEX_VARIABLE]);
  const send = (message: FromWorker) => {
    if (process.connected) process.send?.(message);
  };
  const stopHandlers: ((now: boolean) => void)[] = [];
  let handlers: WorkerHandlers | undefined;
  const waiting: ToWorker[] = [];
  let resolveInit: ((text: string) => void) | undefined;

  const handle = async (message: ToWorker): Promise<void> => {
    if (message.t === 'egress-stop') {
      for (const handler of stopHandlers) handler(message.now);
      return;
    }
    if (message.t === 'egress-init') {
      resolveInit?.(message.text);
      return;
    }
    if (!handlers) {
      waiting.push(message);
      return;
    }
    if (message.t === 'egress-metrics') {
      const text = await handlers.registry.metrics().catch(() => '');
      send({ t: 'egress-metrics', id: message.id, text });
    } else if (message.t === 'egress-reload') {
      let outcome: ReloadOutcome;
      try {
        outcome = await handlers.reload(message.text);
      } catch (error) {
        outcome = { ok: false, error: (error as Error).message };
      }
      send({
        t: 'egress-reloaded',
        id: message.id,
        ok: outcome.ok,
        ...(outcome.ok ? {} : { error: outcome.error }),
      });
    }
  };
  const onMessage = (message: unknown) => {
    if (isEgressMessage(message)) void handle(message as ToWorker);
  };
  process.on('message', onMessage);

  const text = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the supervisor did not answer')), HELLO_TIMEOUT_MS);
    resolveInit = (value) => {
      clearTimeout(timer);
      resolve(value);
    };
    send({ t: 'egress-hello' });
  });

  return {
    index,
    text,
    logger(options) {
      const writer = new BatchedWriter(1, WORKER_LOG_BATCH, LOG_FLUSH_MS);
      process.once('exit', () => writer.flushSync(2000));
      return createLogger({ ...options, destination: writer }).child({ worker: index });
    },
    serve(next) {
      handlers = next;
      send({ t: 'egress-ready' });
      for (const message of waiting.splice(0)) void handle(message);
    },
    onStop(handler) {
      stopHandlers.push(handler);
    },
    close() {
      process.off('message', onMessage);
      // As a worker asked to disconnect: the process then ends when nothing else is left to run.
      cluster.worker?.disconnect();
    },
  };
}
