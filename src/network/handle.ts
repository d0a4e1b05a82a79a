import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import { mapNetlinkError, NetlinkClosedError, NetlinkTimeoutError } from './errors.js';

/** Options of openNetlink. */
export interface NetlinkHandleOptions {
  /** How long one request may wait for the kernel's answer (default 5000 ms). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * One rtnetlink socket, bound to the network namespace of the process that opened it. Every
 * function of this module takes a handle; open one with openNetlink and close it when done (or use
 * withNetlink). The socket never keeps the event loop alive by itself: only while a request is in
 * flight, and never after close(). A request that times out closes the handle (the kernel always
 * answers rtnetlink requests: no answer means the socket is broken).
 */
export class NetlinkHandle {
  readonly #socket: RtNetlinkSocket;
  readonly #timeoutMs: number;
  readonly #pending = new Set<(error: Error) => void>();
  #closed = false;

  /** Use openNetlink. */
  constructor(socket: RtNetlinkSocket, options: NetlinkHandleOptions = {}) {
    this.#socket = socket;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // An unhandled 'error' event would crash the process: fail the requests in flight instead.
    socket.socket.on('error', (error) => this.#failPending(mapNetlinkError(error, 'netlink socket')));
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The per-request timeout in milliseconds. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * Sends one request through the socket and maps any failure to a typed error.
   *
   * @param operation what is being done, for error messages (e.g. `set interface index 3 up`)
   * @param send issues the request
   * @returns what send resolved to
   * @throws NetlinkClosedError when the handle is (or gets) closed, NetlinkTimeoutError (and the handle
   *   is closed) when the kernel does not answer in time, a NetlinkError subclass otherwise
   */
  async request<T>(operation: string, send: (socket: RtNetlinkSocket) => Promise<T>): Promise<T> {
    if (this.#closed) throw new NetlinkClosedError(operation);
    let abort: ((error: Error) => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      abort = reject;
    });
    const fail = (error: Error) =>
      abort!(error instanceof NetlinkClosedError ? new NetlinkClosedError(operation) : error);
    this.#pending.add(fail);
    // Our own timer rather than the package's: its timer outlives close() and holds the event loop.
    const timer = setTimeout(() => {
      fail(new NetlinkTimeoutError(operation, this.#timeoutMs));
      this.close();
    }, this.#timeoutMs);
    try {
      return await Promise.race([send(this.#socket), aborted]);
    } catch (error) {
      throw mapNetlinkError(error, operation, this.#timeoutMs);
    } finally {
      clearTimeout(timer);
      this.#pending.delete(fail);
    }
  }

  /** Closes the socket. Idempotent; requests still in flight reject with NetlinkClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.socket.close();
    this.#failPending(new NetlinkClosedError('netlink request'));
  }

  #failPending(error: Error): void {
    for (const fail of [...this.#pending]) fail(error);
    this.#pending.clear();
  }
}

/**
 * Opens an rtnetlink socket in the calling process's network namespace.
 *
 * @throws a NetworkError when the socket cannot be created
 */
export function openNetlink(options: NetlinkHandleOptions = {}): NetlinkHandle {
  try {
    return new NetlinkHandle(createRtNetlink(), options);
  } catch (error) {
    throw mapNetlinkError(error, 'open rtnetlink socket');
  }
}

/**
 * Opens a handle, runs `use` with it and closes it, whatever happens.
 *
 * @returns what use resolved to
 */
export async function withNetlink<T>(
  use: (handle: NetlinkHandle) => Promise<T>,
  options: NetlinkHandleOptions = {},
): Promise<T> {
  const handle = openNetlink(options);
  try {
    return await use(handle);
  } finally {
    handle.close();
  }
}
