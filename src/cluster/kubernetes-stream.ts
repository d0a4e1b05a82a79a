/** A watch stream's newline-delimited JSON events, read as they come. */
import type { IncomingMessage } from 'node:http';
import type { WatchCallbacks } from './kubernetes-api.js';
import { isRecord, KubernetesApiError, messageOf, oneLine } from './kubernetes-error.js';

/** The longest line a watch stream may send (one object). */
const MAX_LINE_CHARS = 64 * 1024 * 1024;

/** Reads a watch stream's lines into events until it ends. */
export function followStream(
  response: IncomingMessage,
  callbacks: WatchCallbacks,
  finish: (error: KubernetesApiError | undefined) => void,
): void {
  let ended = false;
  let pending = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0 && !ended) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      if (line.trim() !== '') readLine(line);
    }
    if (pending.length > MAX_LINE_CHARS)
      stop(new KubernetesApiError('the watch sent a line past 64 MiB', 200));
  });
  response.on('end', () => stop(undefined));
  response.on('error', (error) =>
    stop(new KubernetesApiError(`connection lost (${messageOf(error)})`, undefined, { cause: error })),
  );
  response.on('close', () =>
    stop(response.complete ? undefined : new KubernetesApiError('connection lost', undefined)),
  );

  function readLine(line: string): void {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      stop(new KubernetesApiError('the watch sent a line that is not JSON', 200));
      return;
    }
    if (!isRecord(event) || typeof event.type !== 'string') {
      stop(new KubernetesApiError('the watch sent an event without a type', 200));
      return;
    }
    try {
      callbacks.event({ type: event.type, object: event.object });
    } catch (error) {
      stop(
        new KubernetesApiError(`a watch event failed: ${oneLine(messageOf(error))}`, 200, { cause: error }),
      );
    }
  }

  function stop(error: KubernetesApiError | undefined): void {
    if (ended) return;
    ended = true;
    response.destroy();
    finish(error);
  }
}
