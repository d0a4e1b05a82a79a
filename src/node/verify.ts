/**
 * The agent's check that its rules are still in the kernel as it left them (docs/node-agent.md,
 * "Restoring what someone else changed"): the table (its handle, chains, rule counts and sets over
 * nfnetlink, no element read) as soon as the ruleset's generation changed (anyone's nf_tables
 * transaction) and every interval; the egress IP overlay every interval. What differs is restored
 * by the next reconcile: the table rebuilt whole (in one transaction for what packets see) when it
 * differs, the overlay set up again when it does.
 */

import { readTableShape } from '../firewall/apply.js';
import { tableDrift } from '../firewall/drift.js';
import type { AppliedTable } from '../firewall/transaction.js';
import { type NetlinkHandle, openNetlink } from '../network/handle.js';
import { nftGeneration } from '../network/nftables.js';
import type { NodeEgressIps } from './egress-ips.js';

/** How often the agent checks, by default. */
export const DEFAULT_VERIFY_INTERVAL_MS = 10_000;
/** How often the ruleset's generation is read (one small nfnetlink request). */
export const GENERATION_POLL_MS = 250;
/**
 * Restores each less than this after the one before make a streak: past RESTORE_FREE of them it is
 * a fight with another tool, and each further one waits (1 s doubling up to RESTORE_BACKOFF_MAX_MS).
 */
const RESTORE_STREAK_MS = 60_000;
const RESTORE_FREE = 5;
const RESTORE_BACKOFF_MAX_MS = 30_000;

/** What the check needs of the agent. */
export interface VerifyTarget {
  /** The reconcile under way, if any: the check waits for it. */
  running(): Promise<void> | undefined;
  /** What the last transaction applied, and the table's handle after it (when read). */
  applied(): { readonly table: AppliedTable; readonly handle: bigint | undefined } | undefined;
  readonly egressIps: Pick<NodeEgressIps, 'verify'>;
  /**
   * Restores: forgets the applied table when `table` (the next transaction then rebuilds it whole),
   * counts and logs, and reconciles.
   */
  restore(drift: readonly string[], table: boolean): Promise<void>;
  warn(fields: Record<string, unknown>, msg: string): void;
}

/**
 * Starts checking. Never two checks at once; a check that finds a reconcile running looks again
 * once after it.
 *
 * The kernel's change notices (nfnetlink and rtnetlink multicast) would say it sooner, but the
 * `netlink` package's socket crashes the process (a C++ exception in its poll handler) when the
 * kernel drops notices for a full receive buffer (ENOBUFS), which a large transaction's element
 * notices cause: hence a poll of the generation.
 *
 * @param intervalMs the period of the whole check (0: never, and no generation read)
 * @param target the agent's side
 * @returns a handle whose `close` stops it
 */
export function startVerifier(intervalMs: number, target: VerifyTarget): { close(): void } {
  if (intervalMs <= 0) return { close() {} };
  let closed = false;
  let checking = false;
  /** A check asked for while one ran: `all` when the overlay is to be checked too. */
  let pending: 'table' | 'all' | undefined;
  let followUp = false;
  let lastRestoreAt = Number.NEGATIVE_INFINITY;
  let streak = 0;
  let later: NodeJS.Timeout | undefined;

  const request = (kind: 'table' | 'all') => {
    if (closed) return;
    if (checking) {
      pending = pending === 'all' || kind === 'all' ? 'all' : 'table';
      return;
    }
    checking = true;
    void (async () => {
      let next: 'table' | 'all' | undefined = kind;
      try {
        while (next && !closed) {
          pending = undefined;
          await check(next);
          next = pending;
        }
      } catch (error) {
        target.warn({ err: (error as Error).message }, 'cannot check the rules in the kernel');
      } finally {
        checking = false;
      }
    })();
  };

  const check = async (kind: 'table' | 'all') => {
    const running = target.running();
    if (running) {
      // Our own change under way (its new generation may have brought us here): once after it.
      if (!followUp) {
        followUp = true;
        void running.then(() => {
          followUp = false;
          request(kind);
        });
      }
      return;
    }
    const before = target.applied();
    if (!before) return;
    let table: string[] = [];
    try {
      const shape = await readTableShape();
      // Changing while listed: the generation moved, so the poll asks again.
      if (shape !== 'changing') table = tableDrift(before.table, shape, before.handle);
    } catch (error) {
      target.warn({ err: (error as Error).message }, 'cannot check the rules in the kernel');
    }
    const overlay = kind === 'all' ? await target.egressIps.verify() : [];
    // A reconcile during the check (or the wait): what it listed may be that reconcile's own change.
    const overtaken = () =>
      closed || target.running() !== undefined || target.applied()?.table !== before.table;
    if (overtaken()) return;
    if (table.length === 0 && overlay.length === 0) return;
    const now = Date.now();
    streak = now - lastRestoreAt < RESTORE_STREAK_MS ? streak + 1 : 0;
    const wait =
      streak < RESTORE_FREE ? 0 : Math.min(1000 * 2 ** (streak - RESTORE_FREE), RESTORE_BACKOFF_MAX_MS);
    if (wait > 0) {
      target.warn(
        { drift: [...table, ...overlay], waitMs: wait },
        'the rules keep being changed by someone else: restoring them after a wait',
      );
      await new Promise<void>((resolve) => {
        later = setTimeout(resolve, wait);
        later.unref();
      });
      if (overtaken()) return;
    }
    lastRestoreAt = Date.now();
    await target.restore([...table, ...overlay], table.length > 0);
  };

  const periodic = setInterval(() => request('all'), intervalMs).unref();
  let handle: NetlinkHandle | undefined;
  let generation: number | undefined;
  let reading = false;
  const poll = setInterval(async () => {
    if (reading || closed) return;
    reading = true;
    try {
      if (handle === undefined || handle.closed) handle = openNetlink({ protocol: 'netfilter' });
      const now = await nftGeneration(handle);
      // The first read checks too: a change just before it would otherwise go unseen.
      if (now !== generation) request('table');
      generation = now;
    } catch {
      // No answer (the handle is closed on a timeout: opened again next time), or no nf_tables.
    } finally {
      reading = false;
    }
  }, GENERATION_POLL_MS).unref();
  return {
    close() {
      closed = true;
      clearInterval(periodic);
      clearInterval(poll);
      clearTimeout(later);
      handle?.close();
    },
  };
}
