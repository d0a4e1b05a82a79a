import type { Socket } from 'node:net';

/**
 * Bytes one read may bring. Node's own reads are 64 KiB into a fresh buffer each; a relay reading
 * into one buffer of its own, reused, makes fewer system calls and leaves no garbage per chunk:
 * bench/results/http-proxy.md measures the CONNECT download. A reader takes its buffer when the
 * first data arrives, and the memory is taken from the system only as far as it is written to: an
 * idle tunnel costs none of it, one that carried bulk data up to this much.
 */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Buffers of finished readers, kept for the next ones (at most this many). A fresh 256 KiB buffer
 * per tunnel would be freed only by the garbage collector, and at a thousand tunnels a second the
 * memory it holds meanwhile makes the collector run far more often.
 */
const MAX_POOLED = 64;
const pool: Buffer[] = [];
/** The first read's size (see SocketReader). */
const FIRST_READ_BYTES = 64;

/**
 * Where a SocketReader's chunks go. `write` returns false while the chunk is still being written
 * (the buffer holding it must not be read into yet): the reader then stops reading until `drained()`.
 */
export interface ChunkSink {
  write(chunk: Buffer): boolean;
}

/**
 * Reads a socket into one reusable buffer (Node's `onread` option of net.connect) and hands each
 * chunk to a sink without copying it. Before a sink is attached, the first chunk is held and
 * reading stops, so nothing is lost between connecting and relaying. Use: create the reader, pass
 * `reader.onread` to `net.connect`, then `attach()` once the other side is ready.
 */
export class SocketReader {
  /**
   * What the first read goes into: a few bytes from Node's shared pool. The big buffer is taken
   * only when data arrives, so an idle tunnel does not hold even the page its header is on.
   */
  #buffer: Buffer = Buffer.allocUnsafe(FIRST_READ_BYTES);
  #big: Buffer | undefined;
  #socket: Socket | undefined;
  #sink: ChunkSink | undefined;
  /** What was read before a sink was attached (reading stopped then). */
  #held: Buffer | undefined;
  /** Reading stopped because the sink has not finished writing the last chunk. */
  #waiting = false;
  #released = false;

  /**
   * The `onread` option for net.connect. Node asks `buffer()` where to read next when the socket
   * is set up and after every chunk; a chunk is written on (or held) before the next read.
   */
  readonly onread = {
    buffer: (): Buffer => this.#buffer,
    callback: (bytes: number, buffer: Uint8Array): boolean => this.#read(bytes, buffer as Buffer),
  };

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

  /** The sink finished writing: reading goes on. */
  drained(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#socket?.resume();
  }

  /**
   * Gives the big buffer back for another reader. Only once the socket is closed (nothing reads
   * into it any more) and nothing written from it is still queued (the sink's socket is closed).
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#big !== undefined && pool.length < MAX_POOLED) pool.push(this.#big);
  }

  #read(bytes: number, buffer: Buffer): boolean {
    // Data flows: from now on read into the big buffer (the chunk just read stays where it is).
    if (this.#big === undefined) {
      this.#big = pool.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
      this.#buffer = this.#big;
    }
    const chunk = buffer.subarray(0, bytes);
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

/**
 * A sink that writes to a socket. A write that the kernel does not take at once stays queued in
 * Node, pointing into the reader's buffer: then `write` returns false, and the write's callback
 * (called once the chunk is written, in order) lets the reader go on. Not 'drain': Node emits it
 * only after a write that went over the socket's high-water mark.
 *
 * @param socket where the chunks are written
 * @param reader the reader to tell when a pending write is done
 * @returns the sink
 */
export function socketSink(socket: Socket, reader: SocketReader): ChunkSink {
  const written = () => reader.drained();
  return {
    write(chunk) {
      if (socket.destroyed) return false;
      socket.write(chunk, written);
      return socket.writableLength === 0;
    },
  };
}
