/** What the router's set-up and modes log through; pino's Logger is one (JSON lines on stdout). */
export interface LogSink {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

type Level = keyof LogSink;

/**
 * A LogSink that queues the lines until the real logger is attached, then hands it the queue in
 * order and everything after. The router attaches pino only once nft runs (nft's process leaves
 * this one idle for a few milliseconds): loading pino's modules first would cost init mode ~10 ms.
 * A queued line is stamped with the time it is written, not the time it was logged.
 */
export class DeferredLog implements LogSink {
  readonly #debug: boolean;
  #target: LogSink | undefined;
  readonly #queue: [Level, object, string][] = [];

  /** @param debug whether debug lines are kept (else they are dropped here, as pino would) */
  constructor(debug: boolean) {
    this.#debug = debug;
  }

  /** Whether the real logger is attached. */
  get attached(): boolean {
    return this.#target !== undefined;
  }

  /** Hands the queued lines to `target`, then logs straight to it. */
  attach(target: LogSink): void {
    this.#target = target;
    for (const [level, fields, message] of this.#queue.splice(0)) target[level](fields, message);
  }

  debug(fields: object, message: string): void {
    if (this.#debug) this.#log('debug', fields, message);
  }

  info(fields: object, message: string): void {
    this.#log('info', fields, message);
  }

  warn(fields: object, message: string): void {
    this.#log('warn', fields, message);
  }

  error(fields: object, message: string): void {
    this.#log('error', fields, message);
  }

  #log(level: Level, fields: object, message: string): void {
    if (this.#target) this.#target[level](fields, message);
    else this.#queue.push([level, fields, message]);
  }
}
