import { connectErrorCode, ProxyError, statusFor } from './errors.js';
import { BodyReader } from './http1/body.js';
import { plainResponse, requestHeadFor, responseHeadFor } from './http1/forward.js';
import { headEnd, parseResponseHead, type RequestHead, type ResponseHead } from './http1/head.js';
import type { NumericIp } from './policy/ip.js';
import type { AbsoluteTarget } from './target.js';
import type { UpstreamConnection, UpstreamOwner, UpstreamPool } from './upstream-pool.js';

/** What an exchange needs from the client connection that carries it. */
export interface ExchangeClient {
  /** Writes to the client; false when its buffer is full (wait for `onClientDrain`). */
  write(data: string | Buffer): boolean;
  /** Writes a head and the first body bytes in one system call. */
  writeHead(head: string, body: Buffer | undefined): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** The exchange is over: `close` ends the client connection, else the next request is read. */
  finished(close: boolean): void;
  /** The client connection cannot go on (an error after the response started): cut it. */
  destroy(): void;
  /** The client connection will close after this response (it asked to, is HTTP/1.0, or the proxy is draining). */
  readonly closing: boolean;
}

/** The logged result of an exchange. */
export interface ExchangeOutcome {
  readonly status: number;
  readonly decision: string;
  readonly error?: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Responses heads larger than this are refused (502): no destination needs more. */
const MAX_RESPONSE_HEAD_BYTES = 65_536;
/** Interim responses (1xx) accepted before the final one. */
const MAX_INTERIM_RESPONSES = 8;
/** Request body bytes held while the destination connection is being opened, before reading pauses. */
const MAX_PENDING_BODY_BYTES = 65_536;
/** Methods safe to send again when a kept-alive connection turns out closed before any answer (RFC 9110 9.2.2). */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * One absolute-URI request forwarded to an allowed address: the request head rewritten, the body
 * passed through as framed (Content-Length or chunked, checked as it passes), the response head
 * rewritten and its body passed through the same way. Heads and bodies are never re-parsed by
 * anything else on the way: what this reads as one message is what goes out as one message.
 */
export class Exchange implements UpstreamOwner {
  private upstream: UpstreamConnection | undefined;
  /** The address connected to, kept after the connection is gone (logs, a retry). */
  private connectedAddress: NumericIp | undefined;
  /** The same, as logged. */
  addressText: string | undefined;
  /** The connection in use had carried a request before. */
  private reusedConnection = false;
  private readonly requestText: string;
  private pending: Buffer[] | undefined = [];
  private pendingBytes = 0;
  private readonly requestBody: BodyReader;
  /** The whole request body has been read from the client. */
  requestDone: boolean;
  private responseHead: ResponseHead | undefined;
  private responseBuffer: Buffer | undefined;
  /** The response body, once its head is read. */
  private responseBody: BodyReader | undefined;
  private responseBytes = 0;
  /** Anything was written to the client. */
  responseStarted = false;
  /** The client connection ends after this response. */
  private closeAfter = false;
  /** Interim (1xx) responses received. */
  private interim = 0;
  /** Chunk data of the current read, for an HTTP/1.0 client. */
  private dechunked: Buffer[] = [];
  private responseEnded = false;
  private upstreamOutOfStep = false;
  private retried = false;
  private done = false;
  /** When the destination must have answered or sent more (performance.now()), while it is awaited. */
  upstreamDeadline = Number.POSITIVE_INFINITY;

  constructor(
    private readonly client: ExchangeClient,
    private readonly head: RequestHead,
    private readonly target: AbsoluteTarget,
    private readonly pool: UpstreamPool,
    private readonly timeouts: { readonly connectMs: number; readonly responseMs: number },
    private readonly onOutcome: (outcome: ExchangeOutcome, address: string | undefined) => void,
  ) {
    this.requestText = requestHeadFor(head, target.path, target.authority);
    this.requestBody = new BodyReader(head.framing);
    this.requestDone = this.requestBody.ended;
  }

  /** Request body bytes read from the client (chunk data, without framing). */
  get bytesIn(): number {
    return this.requestBody.bytes;
  }

  /** Response body bytes read from the destination (chunk data, without framing). */
  get bytesOut(): number {
    return this.responseBody?.bytes ?? 0;
  }

  /**
   * Takes request body bytes from the client.
   *
   * @param chunk bytes read from the client
   * @returns the bytes after the body (the next request), or undefined
   */
  feedBody(chunk: Buffer): Buffer | undefined {
    const body = this.requestBody;
    const take = body.take(chunk);
    if (take === -1) {
      this.fail(new ProxyError('BAD_REQUEST', `malformed chunked body: ${body.chunked!.error}`));
      return undefined;
    }
    this.requestDone = body.ended;
    const rest = take < chunk.length ? chunk.subarray(take) : undefined;
    if (take > 0) this.sendBody(take === chunk.length ? chunk : chunk.subarray(0, take));
    // The destination's time to answer runs from the end of the request (while the body comes,
    // the client's request timeout applies).
    if (this.requestDone && this.upstream !== undefined && this.responseHead === undefined) {
      this.upstreamDeadline = performance.now() + this.timeouts.responseMs;
    }
    return rest;
  }

  /** Starts the exchange with the allowed addresses. */
  start(addresses: readonly NumericIp[]): void {
    const reused = this.pool.take(addresses, this.target.port);
    if (reused) this.attach(reused);
    else this.connect(addresses);
  }

  /** Opens a new connection to the first address that accepts. */
  private connect(addresses: readonly NumericIp[]): void {
    this.pool.open(addresses, this.target.port, this.timeouts.connectMs).then(
      (conn) => {
        if (this.done) conn.socket.destroy();
        else this.attach(conn);
      },
      (error: ProxyError) => {
        const cause = error.cause as NodeJS.ErrnoException | undefined;
        this.fail(
          error.code === 'CONNECT_TIMEOUT'
            ? new ProxyError('CONNECT_TIMEOUT', `connecting to ${this.target.authority} timed out`)
            : new ProxyError(error.code, `${this.target.authority}: ${cause?.code ?? error.message}`, {
                cause,
              }),
        );
      },
    );
  }

  private attach(conn: UpstreamConnection): void {
    this.upstream = conn;
    this.connectedAddress = conn.address;
    this.addressText = conn.addressText;
    this.reusedConnection = conn.reused;
    conn.owner = this;
    if (this.requestDone) this.upstreamDeadline = performance.now() + this.timeouts.responseMs;
    const pending = this.pending;
    this.pending = undefined;
    const socket = conn.socket;
    if (pending && pending.length > 0) {
      socket.cork();
      socket.write(this.requestText, 'latin1');
      for (const chunk of pending) socket.write(chunk);
      socket.uncork();
      if (this.pendingBytes > MAX_PENDING_BODY_BYTES) this.client.resumeReading();
      this.pendingBytes = 0;
    } else {
      socket.write(this.requestText, 'latin1');
    }
  }

  private sendBody(chunk: Buffer): void {
    const upstream = this.upstream;
    if (this.pending) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > MAX_PENDING_BODY_BYTES) this.client.pauseReading();
      return;
    }
    if (upstream && !upstream.socket.write(chunk)) this.client.pauseReading();
  }

  onUpstreamDrain(): void {
    if (!this.requestDone) this.client.resumeReading();
  }

  /** The client's buffer has room again. */
  onClientDrain(): void {
    this.upstream?.socket.resume();
  }

  onUpstreamData(chunk: Buffer): void {
    // Interim responses do not extend the time to answer; the final head and body data do.
    if (this.responseHead !== undefined || this.requestDone) {
      this.upstreamDeadline = performance.now() + this.timeouts.responseMs;
    }
    if (this.responseHead === undefined || this.responseBuffer !== undefined) {
      this.readResponseHead(chunk);
      return;
    }
    this.feedResponse(chunk);
  }

  private readResponseHead(chunk: Buffer): void {
    let buffer = this.responseBuffer === undefined ? chunk : Buffer.concat([this.responseBuffer, chunk]);
    this.responseBytes += chunk.length;
    for (;;) {
      const end = headEnd(buffer, 0);
      if (end === -1 ? buffer.length > MAX_RESPONSE_HEAD_BYTES : end - 4 > MAX_RESPONSE_HEAD_BYTES) {
        this.fail(new ProxyError('UPSTREAM_ERROR', `${this.target.authority}: response head too large`));
        return;
      }
      if (end === -1) {
        this.responseBuffer = buffer;
        return;
      }
      const parsed = parseResponseHead(buffer.toString('latin1', 0, end - 4), this.head.method);
      if (!parsed.ok) {
        this.fail(
          new ProxyError('UPSTREAM_ERROR', `${this.target.authority}: invalid response: ${parsed.reason}`),
        );
        return;
      }
      const head = parsed.value;
      const rest = end < buffer.length ? buffer.subarray(end) : undefined;
      if (head.status < 200) {
        if (head.status === 101) {
          this.fail(new ProxyError('UPSTREAM_ERROR', `${this.target.authority}: switched protocols unasked`));
          return;
        }
        // An interim response (100 Continue, 103 Early Hints) goes to an HTTP/1.1 client (an HTTP/1.0
        // one knows none); the final one follows. A destination that sends them without end is cut.
        if (++this.interim > MAX_INTERIM_RESPONSES) {
          this.fail(new ProxyError('UPSTREAM_ERROR', `${this.target.authority}: too many interim responses`));
          return;
        }
        if (this.head.minor === 1) {
          this.responseStarted = true;
          if (!this.client.write(responseHeadFor(head, false))) this.upstream?.socket.pause();
        }
        if (rest === undefined) {
          this.responseBuffer = undefined;
          this.responseHead = undefined;
          return;
        }
        buffer = rest;
        continue;
      }
      this.responseHead = head;
      this.responseBuffer = undefined;
      const framing = head.framing;
      const responseBody = new BodyReader(framing);
      this.responseBody = responseBody;
      // An HTTP/1.0 client cannot read chunked framing: it gets the data, delimited by the close.
      const chunked = responseBody.chunked;
      const dechunk = chunked !== undefined && this.head.minor === 0;
      if (dechunk)
        chunked.onData = (bytes, from, to) => this.dechunked.push((bytes as Buffer).subarray(from, to));
      const close =
        this.client.closing || !this.head.keepAlive || framing.kind === 'close' || !this.requestDone;
      this.closeAfter = close;
      this.responseStarted = true;
      const headText = responseHeadFor(head, close, dechunk);
      if (rest === undefined || framing.kind === 'none') {
        if (!this.client.write(headText)) this.upstream?.socket.pause();
        if (rest !== undefined) this.upstreamOutOfStep = true;
        if (framing.kind === 'none') this.responseComplete();
        return;
      }
      const body = this.takeResponse(rest);
      if (this.done) return;
      if (!this.client.writeHead(headText, body)) this.upstream?.socket.pause();
      if (this.responseEnded) this.responseComplete();
      return;
    }
  }

  /** The part of `chunk` that belongs to the response body; sets responseEnded when it ends in it. */
  private takeResponse(chunk: Buffer): Buffer | undefined {
    const body = this.responseBody!;
    const take = body.take(chunk);
    if (take === -1) {
      this.fail(
        new ProxyError(
          'UPSTREAM_ERROR',
          `${this.target.authority}: malformed chunked body: ${body.chunked!.error}`,
        ),
      );
      return undefined;
    }
    this.responseEnded = body.ended;
    if (take < chunk.length) this.upstreamOutOfStep = true;
    if (body.chunked?.onData !== undefined) {
      const data = this.dechunked;
      this.dechunked = [];
      return data.length === 0 ? undefined : data.length === 1 ? data[0] : Buffer.concat(data);
    }
    if (take === 0) return undefined;
    return take === chunk.length ? chunk : chunk.subarray(0, take);
  }

  private feedResponse(chunk: Buffer): void {
    if (this.responseEnded) {
      this.upstreamOutOfStep = true;
      return;
    }
    const body = this.takeResponse(chunk);
    if (this.done) return;
    if (body !== undefined && !this.client.write(body)) this.upstream?.socket.pause();
    if (this.responseEnded) this.responseComplete();
  }

  onUpstreamEnd(): void {
    if (this.responseHead?.framing.kind === 'close' && this.responseBuffer === undefined) {
      this.responseEnded = true;
      this.upstreamOutOfStep = true;
      this.responseComplete();
      return;
    }
    this.upstreamLost(undefined);
  }

  onUpstreamClose(error: Error | undefined): void {
    this.upstream = undefined;
    if (!this.done) this.upstreamLost(error);
  }

  private upstreamLost(error: Error | undefined): void {
    if (this.done) return;
    // A kept-alive connection the destination closed while idle: the request never reached it.
    if (
      this.reusedConnection &&
      this.responseBytes === 0 &&
      !this.retried &&
      this.head.framing.kind === 'none' &&
      RETRYABLE.has(this.head.method)
    ) {
      this.dropUpstream();
      this.retried = true;
      this.pending = [];
      this.connect([this.connectedAddress!]);
      return;
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    this.fail(
      new ProxyError(
        error ? connectErrorCode(error as NodeJS.ErrnoException) : 'UPSTREAM_ERROR',
        `${this.target.authority}: ${code ?? 'the destination closed the connection'}`,
        { cause: error },
      ),
    );
  }

  private responseComplete(): void {
    if (!this.requestDone) {
      // The destination answered before the whole body came: the rest of it cannot be told from a
      // next request without reading it, so this client connection ends with this response.
      this.closeAfter = true;
      this.upstreamOutOfStep = true;
    }
    this.complete();
  }

  private complete(): void {
    if (this.done) return;
    this.done = true;
    this.upstreamDeadline = Number.POSITIVE_INFINITY;
    const upstream = this.upstream;
    if (upstream && this.responseHead!.reusable && !this.upstreamOutOfStep && this.requestDone) {
      this.upstream = undefined;
      this.pool.put(upstream, performance.now());
    } else {
      this.dropUpstream();
    }
    this.onOutcome(
      {
        status: this.responseHead!.status,
        decision: 'allow',
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
      },
      this.addressText,
    );
    this.client.finished(this.closeAfter);
  }

  /**
   * Ends the exchange with an error: a response of the proxy's own when nothing was sent yet,
   * otherwise the client connection is cut.
   *
   * @param error why
   */
  fail(error: ProxyError): void {
    if (this.done) return;
    this.abort();
    const status = this.responseHead ? this.responseHead.status : statusFor(error.code);
    const decision = error.code === 'BAD_REQUEST' ? 'invalid' : 'allow';
    this.onOutcome(
      { status, decision, error: error.message, bytesIn: this.bytesIn, bytesOut: this.bytesOut },
      this.addressText,
    );
    if (this.responseStarted) {
      this.client.destroy();
      return;
    }
    const close = !this.requestDone || this.client.closing || !this.head.keepAlive;
    this.client.write(plainResponse(status, `egress-router: ${error.message}\n`, close));
    this.client.finished(close);
  }

  /** The client went away or timed out: the destination connection is closed, nothing is logged here. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.upstreamDeadline = Number.POSITIVE_INFINITY;
    this.dropUpstream();
  }

  /** Closes the destination connection in use, if any: it is out of step or no longer wanted. */
  private dropUpstream(): void {
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream === undefined) return;
    upstream.owner = undefined;
    upstream.socket.destroy();
  }

  /** The status the client saw, for a log line written elsewhere. */
  get status(): number | undefined {
    return this.responseHead?.status;
  }

  /** Called by the sweep when `upstreamDeadline` has passed. */
  timedOut(): void {
    this.fail(new ProxyError('RESPONSE_TIMEOUT', `${this.target.authority} did not answer in time`));
  }
}
