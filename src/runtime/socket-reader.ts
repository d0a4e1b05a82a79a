import type { Socket } from 'node:net';

/**
 * Bytes one read may bring. Node's own reads are 64 KiB into a fresh buffer each; a relay reading
 * into one buffer, reused, makes fewer system calls and leaves no garbage per chunk:
 * bench/results/http-proxy.md measures the CONNECT download.
 */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * A reader gives its big buffer back after this long without data (and no write pending), and reads
 * into a few bytes again until data flows: memory follows the tunnels that carry data now, not
 * those that once did (a WebSocket or database tunnel that received a burst an hour ago).
 */
export const IDLE_RELEASE_MS = 1000;

/**
 * Big buffers not in use, kept for the next readers (at most this many: 4 MiB). A fresh 256 KiB
 * buffer per tunnel would be freed only by the garbage collector, and at a thousand tunnels a second
 * the memory it holds meanwhile makes the collector run far more often.
 */
const MAX_POOLED = 16;
const pool: Buffer[] = [];
/** The size of a read while no data flows (see SocketReader). */
const FIRST_READ_BYTES = 64;

/** Readers holding a big buffer: the sweep gives idle ones back. */
const holding = new Set<SocketReader>();
let sweep: NodeJS.Timeout | undefined;

function startSweep(): void {
  if (sweep !== undefined) return;
  sweep = setInterval(() => {
    const now = Date.now();
    for (const reader of holding) reader.releaseIfIdle(now);
    if (holding.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
    }
  }, IDLE_RELEASE_MS);
  sweep.unref();
}

/**
 * Where a SocketReader's chunks go. `write` returns false while the chunk is still being written
 * (the buffer holding it must not be read into yet): the reader then stops reading until `drained()`.
 */
export interface ChunkSink {
  write(chunk: Buffer): boolean;
}

/** The socket's native handle: Node's own `useUserBuffer` (what `onread` sets up) moves reads to another buffer. */
interface UserBufferHandle {
  useUserBuffer?(buffer: Uint8Array): void;
}

/**
 * Reads a socket with Node's `onread` option of net.connect and hands each chunk to a sink without
 * copying it. While no data flows, reads go into a few bytes; when a read fills them (data flows)
 * the reader takes a 256 KiB buffer (from a pool) and gives it back after IDLE_RELEASE_MS without
 * data. Before a sink is attached, the first chunk is held and reading stops, so nothing is
 * lost between connecting and relaying. Use: create the reader, pass `reader.onread` to
 * `net.connect`, then `attach()` once the other side is ready; `release()` once both sides closed.
 */
export class SocketReader {
  /** Where the next read goes (Node asks `onread.buffer()` after every read). */
  #buffer: Buffer;
  #big: Buffer | undefined;
  #lastRead = 0;
  #socket: Socket | undefined;
  #sink: ChunkSink | undefined;
  /** What was read before a sink was attached (reading stopped then). */
  #held: Buffer | undefined;
  /** Reading stopped because the sink has not finished writing the last chunk. */
  #waiting = false;
  #released = false;

  /**
   * The `onread` option for net.connect. Node asks `buffer()` where to read when the socket is set
   * up and after every chunk; a chunk is written on (or held) before the next read.
   */
  readonly onread = {
    buffer: (): Buffer => this.#buffer,
    callback: (bytes: number): boolean => this.#read(bytes),
  };

  /**
   * @param options `streaming`: data already flows (the socket is taken over mid-stream, see
   *   readWith): the first read goes into the big buffer, not into a few bytes
   */
  constructor(options: { streaming?: boolean } = {}) {
    if (options.streaming) {
      this.#buffer = this.#takeBig();
      this.#lastRead = Date.now();
    } else {
      this.#buffer = Buffer.allocUnsafe(FIRST_READ_BYTES);
    }
  }

  /**
   * Starts relaying: the held chunk first, then every chunk as it is read.
   *
   * @param socket the socket created with `onread`
   * @param sink where the chunks go
   */
  attach(socket: Socket, sink: ChunkSink): void {
    this.#socket = socket;
    this.#sink = sink;
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined && !sink.write(held)) {
      this.#waiting = true;
      return;
    }
    socket.resume();
  }

  /** The sink finished every write: reading goes on. */
  drained(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#socket?.resume();
  }

  /**
   * Gives the big buffer back for good. Only once the socket is closed (nothing reads into it any
   * more) and nothing written from it is still queued (the sink's socket is closed).
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#giveBack();
  }

  /**
   * Called by the sweep: gives the big buffer back when no data came for IDLE_RELEASE_MS, nothing
   * written from it is pending and nothing is held, and reads go into a few bytes again.
   *
   * @param now Date.now()
   */
  releaseIfIdle(now: number): void {
    if (this.#big === undefined || this.#waiting || this.#held !== undefined) return;
    if (now - this.#lastRead < IDLE_RELEASE_MS) return;
    const handle = (this.#socket as (Socket & { _handle?: UserBufferHandle }) | undefined)?._handle;
    if (typeof handle?.useUserBuffer !== 'function') return;
    this.#buffer = Buffer.allocUnsafe(FIRST_READ_BYTES);
    handle.useUserBuffer(this.#buffer);
    this.#giveBack();
  }

  #takeBig(): Buffer {
    const big = pool.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
    this.#big = big;
    holding.add(this);
    startSweep();
    return big;
  }

  #giveBack(): void {
    const big = this.#big;
    if (big === undefined) return;
    this.#big = undefined;
    holding.delete(this);
    if (pool.length < MAX_POOLED) pool.push(big);
  }

  #read(bytes: number): boolean {
    // The chunk is in the buffer Node was last told to read into.
    const chunk = this.#buffer.subarray(0, bytes);
    if (this.#released) return false;
    this.#lastRead = Date.now();
    if (this.#big === undefined && bytes === this.#buffer.length) {
      // Data flows (the read filled the few bytes): from the next read on, into a big buffer (this
      // chunk stays where it is). A short answer (a banner, a line) never takes one, so a tunnel
      // that opens, answers a little and closes costs no 256 KiB.
      this.#buffer = this.#takeBig();
    }
    const sink = this.#sink;
    if (sink === undefined) {
      // Not relaying yet: keep the chunk and stop reading (returning false pauses the socket).
      this.#held = chunk;
      return false;
    }
    if (sink.write(chunk)) return true;
    this.#waiting = true;
    return false;
  }
}

/** Node's own slots for `onread` on a socket (lib/net.js: kBuffer, kBufferGen, kBufferCb). */
interface OnreadSlots {
  readonly buffer: symbol;
  readonly generate: symbol;
  readonly callback: symbol;
}
let onreadSlots: OnreadSlots | null | undefined;

function findOnreadSlots(socket: Socket): OnreadSlots | null {
  if (onreadSlots !== undefined) return onreadSlots;
  const symbols = Object.getOwnPropertySymbols(socket);
  const named = (name: string) => symbols.find((symbol) => symbol.description === name);
  const [buffer, generate, callback] = [named('kBuffer'), named('kBufferGen'), named('kBufferCb')];
  onreadSlots = buffer && generate && callback ? { buffer, generate, callback } : null;
  return onreadSlots;
}

/**
 * Gives a socket a reader, as net.connect's `onread` option does for the sockets it makes from the
 * start (net.createServer has no such option, and a connected socket may be taken over once data
 * flows): Node's stream code reads into the reader's buffer from the next read on, and emits no
 * more 'data'. It uses Node's own slots for `onread` (present in Node 20 and 24; a test checks
 * them). Without them (another Node), nothing changes and `false` says to go on with 'data'.
 * Attach the reader at once, or keep the socket paused until it is attached.
 *
 * Why: Node's default reads each go into a fresh 64 KiB buffer. Node 24's V8 answers that stream of
 * external memory with a full collection of the heap every ~100 ms during a bulk transfer, which
 * cost the DNS proxy a fifth of its throughput (bench/dns-proxy.md); one buffer, reused, allocates
 * nothing per read.
 *
 * @param socket a socket that is paused, or reading with 'data' (from within its 'data' listener)
 * @param reader the reader (attach it to go on reading)
 * @returns whether the reader now reads the socket
 */
export function readWith(socket: Socket, reader: SocketReader): boolean {
  const slots = findOnreadSlots(socket);
  const handle = (socket as Socket & { _handle?: UserBufferHandle })._handle;
  if (slots === null || typeof handle?.useUserBuffer !== 'function') return false;
  const target = socket as unknown as Record<symbol, unknown>;
  const first = reader.onread.buffer();
  target[slots.buffer] = first;
  target[slots.generate] = reader.onread.buffer;
  target[slots.callback] = reader.onread.callback;
  handle.useUserBuffer(first);
  return true;
}

/**
 * A read this large means the socket streams (Node reads at most 64 KiB at a time): a relay then
 * gives it a reader of its own (readInBulk), while short exchanges keep Node's reads.
 */
export const BULK_READ_BYTES = 16 * 1024;
/** False once readWith said this Node cannot give a socket a reader: sockets stay on 'data'. */
let readersPossible = true;

/**
 * Moves one direction of a relay that streams from Node's reads to a reader of its own: `from` is
 * read into the reader from its next read on (readWith) and written to `to` without a copy. The
 * direction's 'data' listener and the 'drain' listener on `to` that resumed `from` are removed: the
 * reader waits for its own writes instead. Call it from within `onData`, after writing the chunk.
 *
 * @param from the socket read, so far with `onData`
 * @param to the socket written
 * @param onData the 'data' listener on `from` that wrote to `to`
 * @param onDrain the 'drain' listener on `to` that resumed `from`
 * @returns the reader (release it once both sockets are closed); or undefined on a Node that
 *   cannot give a socket a reader: then nothing changed and 'data' goes on
 */
export function readInBulk(
  from: Socket,
  to: Socket,
  onData: (chunk: Buffer) => void,
  onDrain: () => void,
): SocketReader | undefined {
  if (!readersPossible) return undefined;
  const reader = new SocketReader({ streaming: true });
  if (!readWith(from, reader)) {
    reader.release();
    readersPossible = false;
    return undefined;
  }
  from.off('data', onData);
  to.off('drain', onDrain);
  reader.attach(from, socketSink(to, reader));
  return reader;
}

/**
 * A sink that writes to a socket. A write the kernel does not take at once stays queued in Node,
 * pointing into the reader's buffer: then `write` returns false, and once every write is done (their
 * callbacks, in order) the reader goes on. Not 'drain': Node emits it only after a write that went
 * over the socket's high-water mark.
 *
 * @param socket where the chunks are written
 * @param reader the reader to tell when the pending writes are done
 * @returns the sink
 */
export function socketSink(socket: Socket, reader: SocketReader): ChunkSink {
  let pending = 0;
  const written = () => {
    if (--pending === 0) reader.drained();
  };
  return {
    write(chunk) {
      if (socket.destroyed) return false;
      pending++;
      socket.write(chunk, written);
      return socket.writableLength === 0;
    },
  };
}
