import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { type FileFollower, followFile } from './follow-file.js';
import { batchedStdout, createLogger, type Logger } from './logger.js';
import type { Aggregation } from './prometheus-sum.js';
import { startWorkers, type Workers } from './workers.js';

/** A log line: its fields and its message. */
export type LogLine = readonly [fields: Record<string, unknown>, msg: string];

/** How a proxy's list is checked and its reloads told, in the supervisor. */
export interface SupervisedList {
  /** The text running at start. */
  readonly text: string;
  /** The file to follow (a mounted ConfigMap), when the list came from one. */
  readonly file?: string | undefined;
  /** Validates a new text: `ok` is sent to the workers; the line is logged (error level when not ok). */
  check(text: string): { readonly ok: boolean; readonly line: LogLine };
  /** The line for a file that cannot be read (the running list stays). */
  unreadable(error: Error): LogLine;
  /** The line for a valid list that a worker could not apply (the running list stays everywhere). */
  failed(errors: readonly string[]): LogLine;
  /** The line when every worker applied a new list. */
  applied(text: string): LogLine;
}

/** Options of {@link superviseWorkers}. */
export interface SuperviseOptions {
  /** The component (`egress-http-proxy`): the loggers' name. */
  readonly name: string;
  readonly debug: boolean;
  readonly count: number;
  /** The admin port (/metrics summed over the workers, /healthz, /readyz); 0: none. */
  readonly adminPort: number;
  readonly drainMs: number;
  /** Prefix of the supervisor's metrics (`egress_http_proxy`). */
  readonly metricPrefix: string;
  /** The reload counter, counted by the supervisor (its family replaces the workers'). */
  readonly reloads: {
    readonly name: string;
    readonly help: string;
    /** The result of an unreadable file (`unreadable`, or `invalid`). */
    readonly unreadable: string;
  };
  /** Aggregations other than the sum, by family. */
  readonly aggregation?: Readonly<Record<string, Aggregation>>;
  /**
   * What a second SIGTERM does: `abort` tells the workers to end their drain at once; `kill` kills
   * them (a proxy that has no early end of its drain, as a single process is killed by it).
   */
  readonly secondSignal: 'abort' | 'kill';
  readonly list: SupervisedList;
}

/** A start failure: its message is the line to print. */
export class WorkersStartError extends Error {
  readonly code = 'WORKERS_START_FAILED';
}

/**
 * Runs a proxy as a supervisor of `count` workers until SIGTERM or SIGINT: starts them (they share
 * the proxy's listening sockets), serves the admin endpoints (metrics summed over the workers),
 * follows the list's file, validates every change once and sends a valid one to every worker (a
 * bad one is refused, and the running list stays in every worker), restarts crashed workers. On
 * a signal: not ready, every worker drains, and it returns once all have exited.
 *
 * @param options the proxy's name, settings and list handling
 * @throws WorkersStartError when the workers cannot start (a port taken) or the admin port cannot be listened on
 */
export async function superviseWorkers(options: SuperviseOptions): Promise<void> {
  const log = createLogger({ debug: options.debug, name: options.name, destination: batchedStdout() }).child({
    worker: 0,
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reloads = new Counter({
    name: options.reloads.name,
    help: options.reloads.help,
    labelNames: ['result'],
    registers: [registry],
  });
  // Signals are caught from the start: one during start-up stops the workers once they run.
  let signals = 0;
  let onSignal: () => void = () => {
    signals++;
  };
  const signalled = () => onSignal();
  process.on('SIGTERM', signalled);
  process.on('SIGINT', signalled);
  const { list } = options;
  const workers = startWorkers({
    count: options.count,
    log,
    registry,
    metricPrefix: options.metricPrefix,
    ownFamilies: [options.reloads.name],
    ...(options.aggregation ? { aggregation: options.aggregation } : {}),
    text: list.text,
    drainMs: options.drainMs,
  });
  let admin: AdminServer | undefined;
  let follower: FileFollower | undefined;
  try {
    try {
      await workers.started;
    } catch (error) {
      throw new WorkersStartError((error as Error).message, { cause: error });
    }
    if (options.adminPort !== 0) {
      admin = await startAdminServer({
        port: options.adminPort,
        registry: summedRegistry(workers),
        ready: () => workers.ready(),
      }).catch((error: NodeJS.ErrnoException) => {
        throw new WorkersStartError(
          `${options.name}: cannot listen on admin port ${options.adminPort}: ${error.code ?? error.message}`,
          { cause: error },
        );
      });
    }
    log.info(
      { event: 'started', workers: options.count, pids: Object.fromEntries(workers.pids()) },
      'workers started',
    );
    if (list.file !== undefined) follower = followList(list, list.file, workers, reloads, options, log);
    await new Promise<void>((resolve) => {
      onSignal = () => {
        signals++;
        if (signals === 1) resolve();
        else void workers.stop(true);
      };
      if (signals > 0) resolve();
    });
    onSignal = () => {
      if (options.secondSignal === 'kill') {
        for (const pid of workers.pids().values()) process.kill(pid, 'SIGKILL');
      } else void workers.stop(true);
    };
    log.info({ event: 'draining', drainMs: options.drainMs }, 'stopping: every worker drains');
  } finally {
    follower?.close();
    await workers.stop();
    await admin?.close();
    process.off('SIGTERM', signalled);
    process.off('SIGINT', signalled);
  }
  log.info({ event: 'stopped', restarts: workers.restarts }, 'stopped');
}

function followList(
  list: SupervisedList,
  file: string,
  workers: Workers,
  reloads: Counter<'result'>,
  options: SuperviseOptions,
  log: Logger,
): FileFollower {
  let queue: Promise<unknown> = Promise.resolve();
  return followFile(file, list.text, (change) => {
    if ('error' in change) {
      reloads.inc({ result: options.reloads.unreadable });
      log.error(...list.unreadable(change.error));
      return;
    }
    const checked = list.check(change.text);
    if (!checked.ok) {
      reloads.inc({ result: 'invalid' });
      log.error(...checked.line);
      return;
    }
    queue = queue.then(async () => {
      const result = await workers.reload(change.text);
      if (result.ok) {
        reloads.inc({ result: 'applied' });
        log.info(...list.applied(change.text));
      } else {
        reloads.inc({ result: 'failed' });
        log.error(...list.failed(result.errors));
      }
    });
  });
}

/** A registry whose exposition is the sum over the workers (what the admin server serves). */
function summedRegistry(workers: Workers): Registry {
  class Summed extends Registry {
    override metrics(): Promise<string> {
      return workers.metrics();
    }
  }
  return new Summed();
}
