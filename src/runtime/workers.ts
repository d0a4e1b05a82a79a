import cluster, { type Worker } from 'node:cluster';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { type Aggregation, processMetricAggregation, sumPrometheusTexts } from './prometheus-sum.js';
import { crashesInARow, restartDelayMs } from './workers-backoff.js';
import {
  type FromWorker,
  isEgressMessage,
  type ToWorker,
  WORKER_INDEX_VARIABLE,
} from './workers-protocol.js';

/** How long a worker has to answer a metrics request before it is left out of the sum. */
const METRICS_TIMEOUT_MS = 2_000;
/** How long a worker has to answer a reload before it counts as failed. */
const RELOAD_TIMEOUT_MS = 10_000;
/** After the drain time, how long workers get to exit before they are killed. */
const EXIT_GRACE_MS = 3_000;

/** Options of {@link startWorkers}. */
export interface WorkersOptions {
  /** How many workers. */
  readonly count: number;
  /** The supervisor's logger. */
  readonly log: Logger;
  /** The supervisor's registry: its own metrics and process metrics, summed with the workers'. */
  readonly registry: Registry;
  /** Prefix of the supervisor's metrics (`egress_http_proxy`: `egress_http_proxy_workers`...). */
  readonly metricPrefix: string;
  /** Families only the supervisor knows (the reload counter): taken from its registry, not summed. */
  readonly ownFamilies?: readonly string[];
  /** Other aggregations than the sum, by family (a gauge every worker holds the same value of: `max`). */
  readonly aggregation?: Readonly<Record<string, Aggregation>>;
  /** The list text the workers start with (and a restarted worker, the one running then). */
  readonly text: string;
  /** How long workers drain on stop; they are killed when they have not exited after it (and a grace). */
  readonly drainMs: number;
}

/** The result of a reload over every worker. */
export type BroadcastResult = { readonly ok: true } | { readonly ok: false; readonly errors: string[] };

/** The running workers. */
export interface Workers {
  /** Settles when every worker was ready once; rejects with the first one's stderr line when one exits first. */
  readonly started: Promise<void>;
  /** Whether traffic is taken: started, not stopping, and at least one worker ready. */
  ready(): boolean;
  /** Workers ready now. */
  readonly running: number;
  /** Crashed workers restarted so far. */
  readonly restarts: number;
  /** The process ids of the workers now, by worker number (1 to N). */
  pids(): Map<number, number>;
  /**
   * Applies a validated list in every worker. When one cannot apply it, every worker gets the
   * running list again, so that they all keep running the same. Serialized.
   *
   * @param text the new list
   * @returns ok, or the workers' errors
   */
  reload(text: string): Promise<BroadcastResult>;
  /** The supervisor's and the workers' metrics, summed (Prometheus text). */
  metrics(): Promise<string>;
  /**
   * Drains every worker and waits until all have exited (killing those that outlive the drain).
   *
   * @param now a second call with `now` ends the drains at once
   */
  stop(now?: boolean): Promise<void>;
}

/** One worker slot (1 to N): the process in it now, and its crash history. */
interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  startedAt: number;
  ready: boolean;
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** The end of its stderr, for a start failure's message. */
  stderrTail: string;
  /** The list text it was given at start. */
  text: string;
}

/**
 * Starts `count` worker processes with the cluster module, each running this process's command
 * again (its `argv`, its Node flags) with {@link WORKER_INDEX_VARIABLE} set; they share the
 * listening sockets (the kernel hands each accepted connection to one of them: SCHED_NONE, see
 * docs/http-proxy.md, "Workers"). A worker that exits unasked is restarted after a back-off and
 * counted. The worker side is `connectToSupervisor()` (workers-link.ts).
 *
 * @param options count, logger, registry, the list, the drain time
 * @returns the workers
 */
export function startWorkers(options: WorkersOptions): Workers {
  const { log, count } = options;
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // stderr comes through the supervisor: a start failure is then one line, not one per worker.
  cluster.setupPrimary({ stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  const registers = [options.registry];
  let restarts = 0;
  const restartCounter = new Counter({
    name: `${options.metricPrefix}_worker_restarts_total`,
    help: 'Workers restarted after they exited unasked',
    registers,
  });
  new Gauge({
    name: `${options.metricPrefix}_workers`,
    help: 'Workers running and ready',
    registers,
    collect() {
      this.set(readyCount());
    },
  });
  const own = new Set([
    ...(options.ownFamilies ?? []),
    `${options.metricPrefix}_worker_restarts_total`,
    `${options.metricPrefix}_workers`,
  ]);
  const aggregation = (family: string): Aggregation | undefined =>
    own.has(family) ? 'first' : (options.aggregation?.[family] ?? processMetricAggregation(family));

  let text = options.text;
  let stopping = false;
  let startedOnce = false;
  let nextId = 1;
  const pending = new Map<number, (message: FromWorker) => void>();
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    worker: undefined,
    startedAt: 0,
    ready: false,
    crashes: 0,
    restartTimer: undefined,
    stderrTail: '',
    text: '',
  }));
  const readyCount = () => slots.filter((slot) => slot.ready).length;
  let settleStart: { resolve(): void; reject(error: Error): void } | undefined;
  const started = new Promise<void>((resolve, reject) => {
    settleStart = { resolve, reject };
  });
  let allExited: (() => void) | undefined;

  const send = (worker: Worker, message: ToWorker): boolean => {
    if (!worker.isConnected()) return false;
    try {
      // With a callback, a channel that closes under the write (the worker exiting: EPIPE) is
      // reported to it instead of as an 'error' event that would end the supervisor.
      worker.send(message, ignoreSendError);
      return true;
    } catch {
      return false;
    }
  };

  /** Sends a request and waits for its answer, or undefined after the timeout or the worker's exit. */
  const ask = (slot: Slot, message: ToWorker & { id: number }, timeoutMs: number) =>
    new Promise<FromWorker | undefined>((resolve) => {
      const worker = slot.worker;
      if (!worker || !send(worker, message)) return resolve(undefined);
      const done = (answer: FromWorker | undefined) => {
        clearTimeout(timer);
        worker.off('exit', onExit);
        pending.delete(message.id);
        resolve(answer);
      };
      const onExit = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      worker.once('exit', onExit);
      pending.set(message.id, done);
    });

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    slot.ready = false;
    slot.stderrTail = '';
    slot.startedAt = Date.now();
    const worker = cluster.fork({ [WORKER_INDEX_VARIABLE]: String(slot.index) });
    slot.worker = worker;
    // The channel's errors (a worker gone under a send) end in 'exit', which restarts or stops it.
    worker.on('error', ignoreSendError);
    // Held until the worker is ready: a start failure is then one line (the supervisor's), not one per worker.
    worker.process.stderr?.on('data', (chunk: Buffer) => {
      if (slot.ready) process.stderr.write(chunk);
      else slot.stderrTail = (slot.stderrTail + chunk.toString('utf8')).slice(-4096);
    });
    worker.on('message', (message: unknown) => {
      if (!isEgressMessage(message)) return;
      const m = message as FromWorker;
      if (m.t === 'egress-hello') {
        slot.text = text;
        send(worker, { t: 'egress-init', text });
      } else if (m.t === 'egress-ready') {
        slot.ready = true;
        process.stderr.write(slot.stderrTail);
        slot.stderrTail = '';
        // A reload that ran while it started did not reach it.
        if (slot.text !== text) void ask(slot, { t: 'egress-reload', id: nextId++, text }, RELOAD_TIMEOUT_MS);
        log.info({ event: 'worker', index: slot.index, pid: worker.process.pid }, 'worker ready');
        if (!startedOnce && slots.every((s) => s.ready)) {
          startedOnce = true;
          settleStart?.resolve();
        }
      } else if ('id' in m) {
        pending.get(m.id)?.(m);
      }
    });
    // 'close' rather than 'exit': its stderr has been read to the end then.
    worker.process.once('close', (code, signal) => exited(slot, worker, code, signal));
  };

  const exited = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.ready = false;
    const fields = { event: 'worker', index: slot.index, pid: worker.process.pid, code, signal };
    if (stopping) {
      log.info(fields, 'worker stopped');
      if (slots.every((s) => s.worker === undefined)) allExited?.();
      return;
    }
    if (!startedOnce) {
      // A worker that cannot start (a port taken): the others will not either; stop them all.
      const line =
        lastLine(slot.stderrTail) ?? `worker ${slot.index} exited (${code ?? signal}) before it was ready`;
      log.error({ ...fields, error: line }, 'worker failed to start');
      settleStart?.reject(new Error(line));
      stopping = true;
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      if (slots.every((s) => s.worker === undefined)) allExited?.();
      return;
    }
    process.stderr.write(slot.stderrTail);
    const uptimeMs = Date.now() - slot.startedAt;
    slot.crashes = crashesInARow(slot.crashes, uptimeMs);
    const delayMs = restartDelayMs(slot.crashes);
    restarts++;
    restartCounter.inc();
    log.error(
      { ...fields, uptimeMs, crashes: slot.crashes, restartInMs: delayMs },
      'worker exited; restarting it',
    );
    slot.restartTimer = setTimeout(() => fork(slot), delayMs);
  };

  for (const slot of slots) fork(slot);
  // Unhandled if nobody awaits it before it fails.
  started.catch(() => {});

  let reloading: Promise<unknown> = Promise.resolve();
  const broadcast = async (next: string): Promise<BroadcastResult> => {
    const ready = slots.filter((slot) => slot.ready);
    const answers = await Promise.all(
      ready.map((slot) => ask(slot, { t: 'egress-reload', id: nextId++, text: next }, RELOAD_TIMEOUT_MS)),
    );
    const errors = answers.flatMap((answer, i) => {
      if (answer?.t === 'egress-reloaded' && answer.ok) return [];
      const why = answer?.t === 'egress-reloaded' ? (answer.error ?? 'failed') : 'no answer';
      return [`worker ${ready[i]!.index}: ${why}`];
    });
    return errors.length === 0 ? { ok: true } : { ok: false, errors };
  };

  return {
    started,
    ready: () => startedOnce && !stopping && readyCount() > 0,
    get running() {
      return readyCount();
    },
    get restarts() {
      return restarts;
    },
    pids() {
      const pids = new Map<number, number>();
      for (const slot of slots) {
        const pid = slot.worker?.process.pid;
        if (pid !== undefined) pids.set(slot.index, pid);
      }
      return pids;
    },
    reload(next) {
      const result = reloading.then(async () => {
        const applied = await broadcast(next);
        if (applied.ok) {
          text = next;
          return applied;
        }
        // Back to the running list everywhere: the workers that applied the new one undo it.
        await broadcast(text);
        return applied;
      });
      reloading = result.catch(() => {});
      return result;
    },
    async metrics() {
      const answers = await Promise.all(
        slots
          .filter((slot) => slot.worker !== undefined)
          .map((slot) => ask(slot, { t: 'egress-metrics', id: nextId++ }, METRICS_TIMEOUT_MS)),
      );
      const texts = answers.flatMap((answer) => (answer?.t === 'egress-metrics' ? [answer.text] : []));
      return sumPrometheusTexts([await options.registry.metrics(), ...texts], { aggregation });
    },
    async stop(now = false) {
      const first = !stopping;
      stopping = true;
      for (const slot of slots) {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
        slot.ready = false;
        if (slot.worker) send(slot.worker, { t: 'egress-stop', now });
      }
      if (!first) return;
      if (slots.every((slot) => slot.worker === undefined)) return;
      const gone = new Promise<void>((resolve) => {
        allExited = resolve;
      });
      const killer = setTimeout(() => {
        for (const slot of slots) {
          if (!slot.worker) continue;
          log.warn({ event: 'worker', index: slot.index }, 'worker still running after the drain; killed');
          slot.worker.process.kill('SIGKILL');
        }
      }, options.drainMs + EXIT_GRACE_MS);
      await gone;
      clearTimeout(killer);
    },
  };
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines[lines.length - 1];
}

/** A message a worker can no longer take: its 'exit' follows and decides. */
function ignoreSendError(): void {}
