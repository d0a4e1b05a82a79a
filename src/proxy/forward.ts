import { type Checked, type CheckListener, decisionOf } from './check-target.js';
import { type ClientConnection, REQUEST_TIMEOUT } from './client-connection.js';
import type { ProxyContext } from './context.js';
import { ProxyError, statusFor } from './errors.js';
import { Exchange, type ExchangeOutcome } from './exchange.js';
import { plainResponse } from './http1/forward.js';
import type { RequestHead } from './http1/head.js';
import { parseAbsoluteTarget } from './target.js';

/**
 * One plain HTTP request of a client connection: its target parsed and checked, then forwarded
 * (an Exchange, src/proxy/exchange.ts) or refused with the proxy's own answer; logged and counted
 * once, however it ends.
 */
export class ForwardedRequest implements CheckListener {
  /** The exchange with the destination, while there is one. */
  exchange: Exchange | undefined;
  /** The log entry, until it is written. */
  private entry: Record<string, unknown> | undefined;

  /**
   * @param conn the client connection
   * @param ctx what the proxy's connections share
   * @param head the request head
   */
  constructor(
    private readonly conn: ClientConnection,
    private readonly ctx: ProxyContext,
    private readonly head: RequestHead,
  ) {}

  /** Parses and checks the target, and forwards the request or answers it. */
  start(): void {
    const { conn, ctx, head } = this;
    const entry: Record<string, unknown> = { kind: 'http', client: conn.client, method: head.method };
    this.entry = entry;
    const parsed = parseAbsoluteTarget(head.target);
    if (!parsed.ok) {
      this.refuse(new ProxyError('BAD_REQUEST', parsed.reason), 'invalid');
      return;
    }
    const target = parsed.value;
    entry.host = target.authority;
    entry.port = target.port;
    const settings = ctx.settings;
    const exchange = new Exchange(
      conn,
      head,
      target,
      ctx.pool,
      { connectMs: settings.connectTimeoutMs, responseMs: settings.responseTimeoutMs },
      (outcome, address) => this.finish(outcome, address),
    );
    this.exchange = exchange;
    // Body bytes that came with the head.
    if (!exchange.requestDone) {
      const first = conn.takeBuffered();
      if (first !== undefined) {
        const rest = exchange.feedBody(first);
        if (rest !== undefined) conn.hold(rest);
      }
    }
    ctx.checkTarget(target, entry, this);
  }

  /**
   * The target is allowed: the exchange starts, unless the request is no longer served.
   *
   * @param checked the allowed addresses
   */
  allowed({ addresses }: Checked): void {
    if (this.entry !== undefined) this.entry.decision = 'allow';
    if (this.exchange !== undefined && this.conn.serves(this)) this.exchange.start(addresses);
  }

  /**
   * The target is refused: answered with the reason, unless the request is no longer served.
   *
   * @param error why
   */
  refused(error: ProxyError): void {
    const exchange = this.exchange;
    if (exchange === undefined || !this.conn.serves(this)) return;
    exchange.abort();
    this.exchange = undefined;
    this.refuse(error, decisionOf(error), exchange.bytesIn);
  }

  /** Answers a request the proxy does not forward; the connection goes on unless a body is unread. */
  private refuse(error: ProxyError, decision: string, bytesIn = 0): void {
    const status = statusFor(error.code);
    const close = this.head.framing.kind !== 'none' || !this.head.keepAlive || this.conn.closing;
    this.finish({ status, decision, error: error.message, bytesIn, bytesOut: 0 }, undefined);
    this.conn.write(plainResponse(status, `egress-router: ${error.message}\n`, close));
    this.conn.finished(close);
  }

  /** Logs and counts the request, once. */
  private finish(outcome: ExchangeOutcome, address: string | undefined): void {
    const entry = this.entry;
    if (entry === undefined) return;
    this.entry = undefined;
    if (address !== undefined) entry.address = address;
    entry.status = outcome.status;
    entry.decision = outcome.decision;
    entry.ms = Math.round(performance.now() - this.conn.started);
    entry.bytes_in = outcome.bytesIn;
    entry.bytes_out = outcome.bytesOut;
    if (outcome.error !== undefined) entry.error = outcome.error;
    const counts = this.ctx.counts;
    counts.request('http', outcome.decision, outcome.status);
    counts.bytes(outcome.bytesIn, outcome.bytesOut);
    this.ctx.line(entry, 'request');
  }

  /**
   * The client connection closed before the request was done: the exchange is dropped and the
   * request logged (499, or 408 when its time had run out).
   *
   * @param timedOut the request's time had run out
   */
  clientClosed(timedOut: boolean): void {
    const entry = this.entry;
    if (entry === undefined) return;
    const exchange = this.exchange;
    exchange?.abort();
    this.finish(
      {
        status: timedOut ? 408 : (exchange?.status ?? 499),
        decision: (entry.decision as string | undefined) ?? 'cancelled',
        error: timedOut
          ? REQUEST_TIMEOUT
          : 'the client closed the connection before the response was complete',
        bytesIn: exchange?.bytesIn ?? 0,
        bytesOut: exchange?.bytesOut ?? 0,
      },
      exchange?.addressText,
    );
  }

  /**
   * Called by the sweep: the destination's time to answer.
   *
   * @param now performance.now()
   */
  expire(now: number): void {
    const exchange = this.exchange;
    if (exchange !== undefined && now >= exchange.upstreamDeadline) exchange.timedOut();
  }

  /**
   * The client's time to send the whole request ran out: while its body is still coming, a 408
   * (or a cut connection once the response has started).
   */
  bodyTimedOut(): void {
    const exchange = this.exchange;
    if (exchange === undefined || exchange.requestDone) return;
    if (exchange.responseStarted) {
      this.conn.destroy();
      return;
    }
    exchange.abort();
    this.finish(
      {
        status: 408,
        decision: (this.entry?.decision as string | undefined) ?? 'cancelled',
        error: REQUEST_TIMEOUT,
        bytesIn: exchange.bytesIn,
        bytesOut: 0,
      },
      exchange.addressText,
    );
    this.conn.close(plainResponse(408, 'egress-router: the request was not sent in time\n', true));
  }
}
