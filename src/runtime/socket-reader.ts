import type { Socket } from 'node:net';

/**
 * Bytes one read may bring. Node's own reads are 64 KiB into a fresh buffer each; a relay reading
 * into one buffer of its own, reused, makes fewer system calls and leaves no garbage per chunk:
 * bench/results/http-proxy.md measures the CONNECT download. The memory is taken from the system
 * only as far as it is written to: an idle tunnel costs none of it, one that carried bulk data up
 * to this much.
 */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Buffers of finished readers, kept for the next ones (at most this many). A fresh 256 KiB buffer
 * per tunnel would be freed only by the garbage collector, and at a thousand tunnels a second the
 * memory it holds meanwhile makes the collector run far more often.
 */
const MAX_POOLED = 64;
const pool: Buffer[] = [];

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
  readonly #buffer = pool.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
  #released = false;
  #socket: Socket | undefined;
  #sink: ChunkSink | undefined;
  /** Bytes read before a sink was attached, at the start of the buffer. */
  #held = 0;
  /** Reading stopped because the sink has not finished writing the last chunk. */
  #waiting = false;

  /** The `onread` option for net.connect. */
  readonly onread = {
    buffer: this.#buffer,
    callback: (bytes: number): boolean => this.#read(bytes),
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
    this.#held = 0;
    if (held > 0 && !sink.write(this.#buffer.subarray(0, held))) {
      this.#waiting = true;
      return;
    }
    socket.resume();
  }

  /**
   * Gives the buffer back for another reader. Only once the socket is closed (nothing reads into
   * the buffer any more) and nothing written from it is still queued (the sink's socket is closed).
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (pool.length < MAX_POOLED) pool.push(this.#buffer);
  }

  /** The sink finished writing: reading goes on. */
  drained(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#socket?.resume();
  }

  #read(bytes: number): boolean {
    const sink = this.#sink;
    if (sink === undefined) {
      // Not relaying yet: keep the chunk in the buffer and stop reading (returning false pauses).
      this.#held = bytes;
      return false;
    }
    if (sink.write(this.#buffer.subarray(0, bytes))) return true;
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
