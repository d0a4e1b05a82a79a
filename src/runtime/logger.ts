import { writeSync } from 'node:fs';
import { pino } from 'pino';

/** The logger every long-running command uses: pino, JSON lines on stdout. */
export type Logger = pino.Logger;

/** The longest a log line of a busy server waits in its batch before it is written. */
export const LOG_FLUSH_MS = 200;

/**
 * stdout for a server that logs one line per connection or request: lines are written in batches
 * of 4 KiB, or every LOG_FLUSH_MS, not one system call per line; what is left is written when the
 * process exits. pino and fastInfo both write here, so lines keep their order.
 *
 * @returns the destination for createLogger
 */
export function batchedStdout(): BatchedWriter {
  const writer = new BatchedWriter(1, 4096, LOG_FLUSH_MS);
  process.once('exit', () => writer.flushSync(EXIT_FLUSH_MS));
  return writer;
}

/** At exit, how long a full stdout pipe is waited for before the rest of the log is given up. */
const EXIT_FLUSH_MS = 2000;
/** Log bytes kept while stdout takes none (a stalled log reader); lines past it are dropped, counted. */
const MAX_BACKLOG_BYTES = 8 * 1024 * 1024;

/**
 * Lines kept in memory and written together, synchronously. (sonic-boom's batching, which pino
 * offers, measures its whole pending text for every line: a few microseconds a line at 4 KiB.)
 * stdout may be a non-blocking pipe: a write it refuses for now (EAGAIN) keeps its bytes for the
 * next flush, up to MAX_BACKLOG_BYTES; lines past that are dropped, and a line says how many once
 * stdout takes data again. The proxy never waits for its log reader, except at exit.
 */
export class BatchedWriter {
  private parts: string[] = [];
  private length = 0;
  /** Batches not yet written, oldest first; the first may be partly written. */
  private readonly backlog: Buffer[] = [];
  private backlogBytes = 0;
  private dropped = 0;

  constructor(
    private readonly fd: number,
    private readonly minLength: number,
    flushMs: number,
  ) {
    setInterval(() => this.flushSync(), flushMs).unref();
  }

  write(line: string): boolean {
    this.parts.push(line);
    this.length += line.length;
    if (this.length >= this.minLength) this.flushSync();
    return true;
  }

  /**
   * Writes what is pending now.
   *
   * @param waitMs at exit: how long to keep trying while stdout is full (0: not at all)
   */
  flushSync(waitMs = 0): void {
    if (this.parts.length > 0) {
      const batch = Buffer.from(this.parts.join(''), 'utf8');
      const lines = this.parts.length;
      this.parts = [];
      this.length = 0;
      if (this.backlogBytes + batch.length > MAX_BACKLOG_BYTES) {
        this.dropped += lines;
      } else {
        this.backlog.push(batch);
        this.backlogBytes += batch.length;
      }
    }
    const giveUpAt = Date.now() + waitMs;
    while (this.backlog.length > 0) {
      const first = this.backlog[0]!;
      let written: number;
      try {
        written = writeSync(this.fd, first);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
          // stdout is gone: nothing can be logged any more.
          this.backlog.length = 0;
          this.backlogBytes = 0;
          return;
        }
        if (Date.now() >= giveUpAt) return;
        Atomics.wait(PAUSE, 0, 0, 10);
        continue;
      }
      this.backlogBytes -= written;
      if (written === first.length) this.backlog.shift();
      else this.backlog[0] = first.subarray(written);
      if (this.backlog.length === 0 && this.dropped > 0) {
        const note = `{"level":40,"time":${Date.now()},"msg":"log lines dropped: stdout was not read","dropped":${this.dropped}}\n`;
        this.dropped = 0;
        this.backlog.push(Buffer.from(note));
        this.backlogBytes += note.length;
      }
    }
  }

  /** pino calls this on `logger.flush()`. */
  flush(done?: (error?: Error) => void): void {
    this.flushSync();
    done?.();
  }
}

/** Something to wait on for a few milliseconds (Atomics.wait) while a full stdout drains at exit. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Creates the JSON-lines logger (stdout). Errors a user must act on go to stderr separately, as
 * one plain line, from the entry file.
 *
 * @param options `debug` logs every step; `name` is the component; `destination` replaces stdout
 *   (batchedStdout() for busy servers, a stream in tests)
 * @returns the logger
 */
export function createLogger(options: {
  debug: boolean;
  name: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    { name: options.name, level: options.debug ? 'debug' : 'info', base: { name: options.name } },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Writes one info line; see fastInfo. */
export type InfoLine = (fields: object, msg: string) => void;

/**
 * Info lines for a hot path (one per request or connection), byte for byte as `log.info(fields,
 * msg)` writes them, without pino's per-call work (~10 µs a line, a fifth of a plain HTTP request):
 * the level, the time, the logger's bindings, then `fields` as JSON (undefined values left out) and
 * the message. Fields must be plain values (no Error objects: pino's serializers are not applied).
 * Falls back to `log.info` when the logger is not a plain pino logger writing info lines.
 *
 * @param log the logger
 * @returns the line writer
 */
export function fastInfo(log: Logger): InfoLine {
  const raw = rawInfo(log);
  if (raw === undefined) return (fields, msg) => log.info(fields, msg);
  return (fields, msg) => raw(JSON.stringify(fields).slice(1, -1), msg);
}

/** Writes one info line from fields already written as JSON (no braces); see fastInfoJson. */
export type InfoJsonLine = (fieldsJson: string, msg: string) => void;

/**
 * {@link fastInfo} for a caller that writes its fields as JSON itself (the inside of an object, no
 * braces, e.g. `"a":1,"b":"x"`), so that not even JSON.stringify runs per line.
 *
 * @param log the logger
 * @returns the line writer
 */
export function fastInfoJson(log: Logger): InfoJsonLine {
  return rawInfo(log) ?? ((fieldsJson, msg) => log.info(JSON.parse(`{${fieldsJson}}`) as object, msg));
}

/** The line writer of a plain pino logger writing info lines, or undefined for any other. */
function rawInfo(log: Logger): InfoJsonLine | undefined {
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as { write(line: string): unknown } | undefined;
  const bindings = internals[pino.symbols.chindingsSym];
  if (
    stream === undefined ||
    typeof bindings !== 'string' ||
    !log.isLevelEnabled('info') ||
    log.levelVal > 30
  ) {
    return undefined;
  }
  return (fieldsJson, msg) => {
    const rest = fieldsJson.length > 0 ? `,${fieldsJson}` : '';
    stream.write(`{"level":30,"time":${Date.now()}${bindings}${rest},"msg":${JSON.stringify(msg)}}\n`);
  };
}
