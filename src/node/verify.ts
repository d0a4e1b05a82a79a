/**
 * The agent's check that its rules are still in the kernel as it left them (docs/node-agent.md,
 * "Restoring what someone else changed"): every interval, the table's chains, rule counts and sets
 * (nfnetlink, no element read) and the egress IP overlay, and as soon as the ruleset's generation
 * changed (anyone's nf_tables transaction); anything missing makes the next reconcile rebuild it
 * whole, in one transaction.
 */

import { readTableShape } from '../firewall/apply.js';
import { tableDrift } from '../firewall/drift.js';
import type { AppliedTable } from '../firewall/transaction.js';
import { type NetlinkHandle, openNetlink } from '../network/handle.js';
import { nftGeneration } from '../network/nftables.js';
import type { NodeEgressIps } from './egress-ips.js';

/** How often the agent checks, by default. */
export const DEFAULT_VERIFY_INTERVAL_MS = 10_000;

/**
 * What someone else changed in the agent's table and overlay since the last reconcile.
 *
 * @param applied what the last transaction applied (nothing to compare when undefined)
 * @param egressIps the egress IP side (resets its overlay when it finds a difference)
 * @returns one line per difference
 */
export async function findDrift(
  applied: AppliedTable | undefined,
  egressIps: Pick<NodeEgressIps, 'verify'>,
): Promise<string[]> {
  const table = applied ? tableDrift(applied, await readTableShape()) : [];
  return [...table, ...(await egressIps.verify())];
}

/** How often the ruleset's generation is read (one small nfnetlink request). */
export const GENERATION_POLL_MS = 250;

/**
 * Runs `check` every `intervalMs`, and whenever the nf_tables generation changed (read every
 * GENERATION_POLL_MS); never two at once.
 *
 * The kernel's change notices (nfnetlink and rtnetlink multicast) would say it sooner, but the
 * `netlink` package's socket crashes the process (a C++ exception in its poll handler) when the
 * kernel drops notices for a full receive buffer (ENOBUFS), which a large transaction's element
 * notices cause: hence a poll.
 *
 * @param intervalMs the period of the whole check (0: never, and no generation read)
 * @param check one check; it decides whether anything is to be restored
 * @returns a handle whose `close` stops both
 */
export function startVerifier(intervalMs: number, check: () => Promise<void>): { close(): void } {
  if (intervalMs <= 0) return { close() {} };
  let closed = false;
  let checking = false;
  let pending = false;
  const once = async () => {
    if (checking) {
      pending = true;
      return;
    }
    checking = true;
    try {
      do {
        pending = false;
        await check();
      } while (pending && !closed);
    } finally {
      checking = false;
    }
  };
  const periodic = setInterval(() => void once(), intervalMs).unref();
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
      if (now !== generation) void once();
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
      handle?.close();
    },
  };
}
