/**
 * Sends nf_tables element batches (see nft-elements.ts) over one nfnetlink socket of the calling
 * process's network namespace. Each batch is one kernel transaction: the kernel applies all of it
 * or, refusing one message, none of it.
 */
import type { RawNetlinkSocket } from 'netlink/dist/raw.js';
import { rawNetlink } from './handle.js';
import { type ElementOp, encodeElementBatches, encodeGetGen } from './nft-elements.js';
import { decodeErrno, decodeMessages, NLMSG_ERROR } from './nlmsg.js';

/** The kernel refused a batch: nothing of it was applied. */
export class NftBatchError extends Error {
  override readonly name = 'NftBatchError';
  /** The errno (positive), e.g. 17 EEXIST, 2 ENOENT, 1 EPERM. */
  readonly errno: number;
  constructor(message: string, errno: number) {
    super(message);
    this.errno = errno;
  }
}

/** What the socket takes: the batch limit in bytes (its send buffer, as large as the kernel lets us). */
export interface ElementSender {
  readonly maxBatchBytes: number;
  /**
   * Sends the ops; one batch when they fit maxBatchBytes, else several (then not atomic together:
   * use it so only for sets nothing refers to yet).
   *
   * @param options `atomic`: refuse (before sending anything) ops that need more than one batch
   * @returns how many batches it took
   * @throws NftBatchError when the kernel refuses a batch (the batches before it stay applied)
   */
  send(table: string, ops: readonly ElementOp[], options?: { readonly atomic?: boolean }): Promise<number>;
  close(): void;
}

/** The send buffer asked for: the kernel caps it at net.core.wmem_max (doubled). */
const WANTED_SEND_BUFFER = 16 * 1024 * 1024;
const WANTED_RECEIVE_BUFFER = 4 * 1024 * 1024;
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * Opens an nfnetlink socket for element batches.
 *
 * @throws the socket's error when it cannot be opened
 */
export function openElementSender(): ElementSender {
  const socket: RawNetlinkSocket = new (rawNetlink().RawNetlinkSocket)(12);
  socket.unref();
  for (const [set, size] of [
    [(n: number) => socket.setSendBufferSize(n), WANTED_SEND_BUFFER],
    [(n: number) => socket.setRecvBufferSize(n), WANTED_RECEIVE_BUFFER],
  ] as const) {
    try {
      set(size);
    } catch {
      // Kept at the default: batches are then split smaller.
    }
  }
  // netlink_sendmsg refuses a datagram longer than the send buffer less 32 bytes.
  const maxBatchBytes = socket.getSendBufferSize() - 64;
  let seq = 0;
  let closed = false;
  let waiting: ((messages: ReturnType<typeof decodeMessages>) => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  socket.on('message', (message: Buffer) => {
    try {
      waiting?.(decodeMessages(message));
    } catch (error) {
      failed?.(error as Error);
    }
  });
  socket.on('error', (error: Error) => failed?.(error));

  const sendOne = (
    batch: Buffer,
    fenceSeq: number,
    names: ReturnType<typeof encodeElementBatches>['messages'],
  ) =>
    new Promise<void>((resolve, reject) => {
      let refusal: NftBatchError | undefined;
      const timer = setTimeout(
        () => finish(new Error('no answer from nf_tables within 10 s')),
        ANSWER_TIMEOUT_MS,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        waiting = undefined;
        failed = undefined;
        socket.unref();
        if (error) reject(error);
        else resolve();
      };
      waiting = (messages) => {
        for (const message of messages) {
          if (message.type !== NLMSG_ERROR) continue;
          const errno = decodeErrno(message);
          if (message.seq === fenceSeq) {
            finish(refusal);
            return;
          }
          if (errno !== 0 && !refusal) {
            const what = names.get(message.seq);
            const target = what ? ` (${what.op} elements of ${what.set})` : '';
            refusal = new NftBatchError(`nf_tables refused the batch${target}: errno ${errno}`, errno);
          }
        }
      };
      failed = finish;
      socket.ref();
      // Two datagrams: the kernel answers the batch while taking it, so every refusal is queued
      // before the answer to the request after it.
      socket.send(batch, undefined, (error) => {
        if (error) finish(error);
      });
      socket.send(encodeGetGen(fenceSeq), undefined, (error) => {
        if (error) finish(error);
      });
    });

  return {
    maxBatchBytes,
    async send(table, ops, options = {}) {
      if (closed) throw new Error('element sender closed');
      if (ops.length === 0) return 0;
      const encoded = encodeElementBatches(table, ops, maxBatchBytes, seq + 1);
      if (options.atomic && encoded.batches.length > 1) {
        throw new NftBatchError(
          `${ops.length} element changes need ${encoded.batches.length} batches of ${maxBatchBytes} bytes: not one transaction`,
          90,
        );
      }
      seq = encoded.nextSeq;
      for (const batch of encoded.batches) {
        seq++;
        await sendOne(batch, seq, encoded.messages);
      }
      seq %= 0x7fffffff;
      return encoded.batches.length;
    },
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}
