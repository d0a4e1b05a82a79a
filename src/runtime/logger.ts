import { pino } from 'pino';

/** The logger every long-running command uses: pino, JSON lines on stdout. */
export type Logger = pino.Logger;

/**
 * Creates the JSON-lines logger (stdout). Errors a user must act on go to stderr separately, as
 * one plain line, from the entry file.
 *
 * @param options `debug` logs every step; `name` is the component; `async` buffers writes (for busy
 *   servers: call `flush()` before exiting); `destination` replaces stdout (tests)
 * @returns the logger
 */
export function createLogger(options: {
  debug: boolean;
  name: string;
  async?: boolean;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    { name: options.name, level: options.debug ? 'debug' : 'info', base: { name: options.name } },
    options.destination ?? pino.destination({ dest: 1, sync: !options.async }),
  );
}
