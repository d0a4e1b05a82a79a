import { createRequire } from 'node:module';
import type { RawNetlinkSocket as RawNetlinkSocketType } from 'netlink/dist/raw.js';
import {
  InvalidArgumentError,
  KernelErrnoError,
  MalformedMessageError,
  mapNetlinkError,
  NetlinkClosedError,
  NetlinkError,
  NetlinkTimeoutError,
  type NetworkError,
} from './errors.js';
import {
  decodeDoneErrno,
  decodeErrno,
  decodeMessages,
  encodeMessage,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
} from './nlmsg.js';

/** Options of openNetlink. */
export interface NetlinkHandleOptions {
  /** How long one request may wait for the kernel's answer (default 5000 ms). */
  readonly timeoutMs?: number;
  /** The netlink family: `route` (rtnetlink, the default) or `netfilter` (nfnetlink, for nf_tables queries). */
  readonly protocol?: 'route' | 'netfilter';
}

/**
 * What the handle needs of a netlink datagram socket (NETLINK_ROUTE or NETLINK_NETFILTER): the `netlink` package's
 * RawNetlinkSocket has it (a test can pass a fake kernel). A socket is created referenced.
 */
export interface NetlinkTransport {
  /** Sends one datagram to the kernel; the callback gets the send error, if any. */
  send(message: Uint8Array, options: undefined, callback: (error?: Error) => void): void;
  close(): void;
  /** Keeps the event loop alive while the socket is open. */
  ref(): void;
  /** Lets the event loop end although the socket is open. */
  unref(): void;
  on(event: 'message', listener: (message: Buffer, info: { readonly port: number }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** NETLINK_ROUTE and NETLINK_NETFILTER (linux/netlink.h). */
const NETLINK_PROTOCOLS = { route: 0, netfilter: 12 } as const;
const DEFAULT_TIMEOUT_MS = 5000;

/** One request sent and not yet answered completely. */
interface Pending {
  readonly operation: string;
  /** A dump ends with NLMSG_DONE; anything else with the acknowledgement (NLMSG_ERROR, errno 0). */
  readonly dump: boolean;
  readonly messages: NetlinkMessage[];
  readonly resolve: (messages: NetlinkMessage[]) => void;
  readonly reject: (error: Error) => void;
}

/**
 * One rtnetlink socket, bound to the network namespace of the process that opened it. Every
 * function of this module takes a handle; open one with openNetlink and close it when done (or use
 * withNetlink). The socket never keeps the event loop alive by itself: only while a request is in
 * flight, and never after close(). Requests go one at a time, in call order (the kernel runs one
 * dump per socket at a time), and are matched to answers by sequence number; every request asks for
 * an acknowledgement, so a change that succeeded is known to have succeeded. A request that times
 * out closes the handle (the kernel always answers rtnetlink requests: no answer means the socket
 * is broken).
 */
export class NetlinkHandle {
  readonly #socket: NetlinkTransport;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  /** Settles when the request before the next one is done (never rejects). */
  #previous: Promise<void> = Promise.resolve();
  #seq = 0;
  #closed = false;

  /** Use openNetlink; a test may pass a fake transport. */
  constructor(socket: NetlinkTransport, options: NetlinkHandleOptions = {}) {
    this.#socket = socket;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    socket.unref();
    socket.on('message', (message, info) => this.#receive(message, info.port));
    // An unhandled 'error' event would crash the process: fail the requests in flight instead.
    socket.on('error', (error) => this.#failAll(() => error));
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
   * Sends one request (with NLM_F_REQUEST and NLM_F_ACK) and collects the kernel's answer: the
   * messages of a dump up to NLMSG_DONE, or the messages before the acknowledgement.
   *
   * @param operation what is being done, for error messages (e.g. `set interface index 3 up`)
   * @param build makes the request (a RangeError it throws becomes an InvalidArgumentError)
   * @param decode turns each answer message into a value (see rtnetlink.ts); without it, the messages
   * @returns the (decoded) answer messages, in order (none for a change that only is acknowledged)
   * @throws NetlinkClosedError when the handle is (or gets) closed, NetlinkTimeoutError (and the handle
   *   is closed) when the kernel does not answer in time, a NetlinkError subclass chosen by errno when
   *   the kernel refuses, a NetlinkError of code ERR_NETLINK_MALFORMED for an answer that does not decode
   */
  request(operation: string, build: () => NetlinkRequest): Promise<NetlinkMessage[]>;
  request<T>(
    operation: string,
    build: () => NetlinkRequest,
    decode: (message: NetlinkMessage) => T,
  ): Promise<T[]>;
  async request(
    operation: string,
    build: () => NetlinkRequest,
    decode?: (message: NetlinkMessage) => unknown,
  ): Promise<unknown[]> {
    if (this.#closed) throw new NetlinkClosedError(operation);
    const previous = this.#previous;
    let done: () => void = () => {};
    this.#previous = new Promise((resolve) => {
      done = resolve;
    });
    try {
      await previous;
      if (this.#closed) throw new NetlinkClosedError(operation);
      const messages = await this.#exchange(operation, build());
      return decode === undefined ? messages : messages.map(decode);
    } catch (error) {
      throw this.#typed(error, operation);
    } finally {
      done();
    }
  }

  /** Closes the socket. Idempotent; requests still in flight reject with NetlinkClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    this.#failAll((pending) => new NetlinkClosedError(pending.operation));
  }

  #exchange(operation: string, request: NetlinkRequest): Promise<NetlinkMessage[]> {
    this.#seq = (this.#seq % 0xffffffff) + 1;
    const seq = this.#seq;
    const bytes = encodeMessage({
      type: request.type,
      flags: request.flags | NLM_F_REQUEST | NLM_F_ACK,
      seq,
      pid: 0,
      payload: request.payload,
    });
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.#pending.delete(seq);
        if (this.#pending.size === 0 && !this.#closed) this.#socket.unref();
      };
      const pending: Pending = {
        operation,
        dump: (request.flags & NLM_F_DUMP) === NLM_F_DUMP,
        messages: [],
        resolve: (messages) => {
          finish();
          resolve(messages);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      // Our own timer, cleared on every outcome: it holds the event loop only while we wait.
      const timer = setTimeout(() => {
        pending.reject(new NetlinkTimeoutError(operation, this.#timeoutMs));
        this.close();
      }, this.#timeoutMs);
      if (this.#pending.size === 0) this.#socket.ref();
      this.#pending.set(seq, pending);
      try {
        this.#socket.send(bytes, undefined, (error) => {
          if (error !== undefined && error !== null) this.#pending.get(seq)?.reject(error);
        });
      } catch (error) {
        pending.reject(error as Error);
      }
    });
  }

  #receive(datagram: Uint8Array, port: number): void {
    // Only the kernel (port 0) answers requests; anything else is not ours to read.
    if (this.#closed || port !== 0) return;
    let messages: NetlinkMessage[];
    try {
      messages = decodeMessages(datagram);
    } catch (error) {
      // A datagram that does not decode cannot be matched to a request: fail them all.
      this.#failAll(() => error as Error);
      return;
    }
    for (const message of messages) {
      const pending = this.#pending.get(message.seq);
      if (pending === undefined) continue;
      try {
        this.#handle(pending, message);
      } catch (error) {
        pending.reject(error as Error);
      }
    }
  }

  #handle(pending: Pending, message: NetlinkMessage): void {
    switch (message.type) {
      case NLMSG_NOOP:
        return;
      case NLMSG_ERROR: {
        const errno = decodeErrno(message);
        if (errno !== 0) pending.reject(new KernelErrnoError(errno));
        else if (!pending.dump) pending.resolve(pending.messages);
        return;
      }
      case NLMSG_DONE: {
        const errno = decodeDoneErrno(message);
        if (errno !== 0) pending.reject(new KernelErrnoError(errno));
        else pending.resolve(pending.messages);
        return;
      }
      case NLMSG_OVERRUN:
        throw new MalformedMessageError('NLMSG_OVERRUN: the kernel lost data');
      default:
        pending.messages.push(message);
    }
  }

  #failAll(error: (pending: Pending) => Error): void {
    for (const pending of [...this.#pending.values()]) pending.reject(error(pending));
  }

  #typed(error: unknown, operation: string): NetworkError {
    if (error instanceof MalformedMessageError) {
      const detail = error.message.replace(/^malformed netlink message/, 'malformed answer');
      return new NetlinkError(operation, detail, error.code, { cause: error });
    }
    if (error instanceof NetlinkClosedError && error.operation !== operation) {
      return new NetlinkClosedError(operation);
    }
    if (error instanceof RangeError) {
      return new InvalidArgumentError(operation, error.message, { cause: error });
    }
    return mapNetlinkError(error, operation, this.#timeoutMs);
  }
}

/**
 * Opens a netlink socket (rtnetlink unless `options.protocol` says otherwise) in the calling
 * process's network namespace.
 *
 * @throws a NetworkError when the socket cannot be created
 */
export function openNetlink(options: NetlinkHandleOptions = {}): NetlinkHandle {
  let socket: RawNetlinkSocketType;
  try {
    socket = new (rawNetlink().RawNetlinkSocket)(NETLINK_PROTOCOLS[options.protocol ?? 'route']);
  } catch (error) {
    throw mapNetlinkError(
      error,
      `open ${options.protocol === 'netfilter' ? 'nfnetlink' : 'rtnetlink'} socket`,
    );
  }
  return new NetlinkHandle(socket, options);
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

/**
 * The `netlink` package's raw socket module, required on first use: a CommonJS module imported
 * from ESM would first be scanned for its exports (cjs-module-lexer), ~5 ms of the router's start-up.
 */
export function rawNetlink(): typeof import('netlink/dist/raw.js') {
  rawNetlinkModule ??= createRequire(import.meta.url)(
    'netlink/dist/raw.js',
  ) as typeof import('netlink/dist/raw.js');
  return rawNetlinkModule;
}
let rawNetlinkModule: typeof import('netlink/dist/raw.js') | undefined;
